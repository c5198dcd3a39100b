/* Hitta rätt: the demo page of `adapt serve --demo`. Plain JS, no build step.
 *
 * The page asks its own server (same origin) for the catalogue and the recommendations. The
 * server authorises these calls with the HttpOnly cookie it set when it served this page, so
 * the page never holds an API key. */
"use strict";

const TEXT = {
  sv: {
    skip: "Hoppa till innehållet",
    title: "Hitta rätt",
    switchTo: "English",
    switchLang: "en",
    lead: "Berätta om din situation och vad du redan har provat. Då visar vi vilka insatser som kan ta dig ett steg närmare arbete eller studier – och varför.",
    aboutYou: "Om dig",
    age: "Hur gammal är du?",
    ageHint: "Mellan 16 och 67 år.",
    gender: "Kön",
    region: "Var får du stöd?",
    years: "Hur många år har du haft stöd eller ersättning?",
    yearsHint: "Till exempel 1,5.",
    income: "Vad lever du på just nu?",
    referral: "Vem tipsade dig om stödet?",
    education: "Hur lång utbildning har du?",
    swedish: "Hur bra är din svenska?",
    checks: "Stämmer något av det här?",
    bornAbroad: "Jag är född i ett annat land än Sverige",
    mental: "Jag mår psykiskt dåligt eller har en psykisk diagnos",
    violence: "Jag har blivit utsatt för våld",
    history: "Det här har du redan gjort",
    historyHint: "Lägg till de insatser du har varit med i, i den ordning de hände. Dagar räknas från den dag du fick stöd första gången.",
    historyEmpty: "Inga insatser tillagda ännu.",
    add: "Lägg till en insats",
    episode: "Insats {n}",
    intervention: "Vilken insats?",
    startDay: "Första dagen",
    endDay: "Sista dagen",
    hours: "Timmar totalt",
    stepBefore: "Var du stod innan",
    stepAfter: "Var du stod efter",
    remove: "Ta bort",
    removeLabel: "Ta bort insats {n}",
    removed: "Insatsen togs bort.",
    submit: "Visa förslag",
    loading: "Hämtar förslag …",
    resultsHeading: "Förslag för dig",
    fixFields: "Något behöver rättas. Se de markerade fälten.",
    failed: "Det gick inte att hämta förslag just nu. Försök igen om en stund.",
    noAccess: "Sidan har tappat kontakten med tjänsten. Ladda om sidan och försök igen.",
    catalogueFailed: "Det gick inte att ladda listorna. Ladda om sidan.",
    now: "Där du står nu: steg {level}, {name}.",
    usual: "Det vanliga nästa steget för någon i din situation är {name}.",
    optionsHeading: "De bästa alternativen",
    rank: "Förslag {n}",
    chance: "Chans att ta ett steg framåt",
    interval: "Troligen mellan {lower} och {upper}.",
    upliftBetter: "{x} procentenheter bättre än det vanliga ({usual}).",
    upliftWorse: "{x} procentenheter sämre än det vanliga ({usual}).",
    upliftSame: "Ungefär som det vanliga ({usual}).",
    upliftInterval: "Osäkerhet: mellan {lower} och {upper} procentenheter.",
    reasons: "Därför",
    notice: "Observera",
    journeyHeading: "Din väg",
    journeyIntro: "Tidslinjen visar vad du har gjort (heldragen linje) och vad som föreslås härnäst (streckad linje), på stegen från ingen aktivitet (0) till arbete ({top}).",
    done: "Gjort",
    planned: "Föreslaget",
    start: "Start",
    nowMark: "Nu",
    stepAxis: "Steg",
    doneItem: "Gjort: {name}, dag {start}–{end}. Steg {before} → {after}.",
    plannedItem: "Förslag {position}: {name}. Väntat steg efteråt: {after}.",
    chartTitle: "Din väg som tidslinje",
    chartDesc: "{done} gjorda och {planned} föreslagna insatser. Samma innehåll finns som lista under bilden.",
    model: "Modellversion {version}.",
    footer: "Förslagen är uppskattningar från en statistisk modell. Prata alltid igenom dem med din handläggare.",
    chosen: "{n} förslag visas.",
    day: "dag",
    enum: {
      gender: { woman: "Kvinna", man: "Man", unknown: "Vill inte ange" },
      income_source: {
        sickness_benefit: "Sjukpenning",
        activity_compensation: "Aktivitetsersättning",
        sickness_compensation: "Sjukersättning",
        social_assistance: "Försörjningsstöd",
        unemployment_benefit: "A-kassa eller aktivitetsstöd",
        no_income: "Ingen inkomst",
        other: "Annat",
      },
      referral_source: {
        municipality: "Kommunen",
        employment_service: "Arbetsförmedlingen",
        social_insurance: "Försäkringskassan",
        healthcare: "Vården",
        self: "Jag hittade hit själv",
      },
      education: {
        compulsory: "Grundskola",
        upper_secondary: "Gymnasium",
        post_secondary: "Högskola eller annan utbildning efter gymnasiet",
        unknown: "Vet inte eller vill inte säga",
      },
      swedish_level: {
        weak: "Jag kan lite svenska",
        basic: "Jag klarar vardagen på svenska",
        fluent: "Jag pratar flytande svenska",
      },
    },
  },
  en: {
    skip: "Skip to content",
    title: "Find your way",
    switchTo: "Svenska",
    switchLang: "sv",
    lead: "Tell us about your situation and what you have already tried. We show which programmes could take you a step closer to work or studies – and why.",
    aboutYou: "About you",
    age: "How old are you?",
    ageHint: "Between 16 and 67 years.",
    gender: "Gender",
    region: "Where do you get support?",
    years: "For how many years have you had support or benefits?",
    yearsHint: "For example 1.5.",
    income: "What do you live on right now?",
    referral: "Who told you about the support?",
    education: "How much schooling do you have?",
    swedish: "How good is your Swedish?",
    checks: "Is any of this true for you?",
    bornAbroad: "I was born in a country other than Sweden",
    mental: "I struggle with my mental health or have a psychiatric diagnosis",
    violence: "I have been exposed to violence",
    history: "What you have already done",
    historyHint: "Add the programmes you have taken part in, in the order they happened. Days count from the day you first got support.",
    historyEmpty: "No programmes added yet.",
    add: "Add a programme",
    episode: "Programme {n}",
    intervention: "Which programme?",
    startDay: "First day",
    endDay: "Last day",
    hours: "Hours in total",
    stepBefore: "Where you stood before",
    stepAfter: "Where you stood after",
    remove: "Remove",
    removeLabel: "Remove programme {n}",
    removed: "The programme was removed.",
    submit: "Show suggestions",
    loading: "Fetching suggestions …",
    resultsHeading: "Suggestions for you",
    fixFields: "Something needs fixing. See the marked fields.",
    failed: "Suggestions could not be fetched right now. Please try again in a while.",
    noAccess: "The page lost contact with the service. Reload the page and try again.",
    catalogueFailed: "The lists could not be loaded. Reload the page.",
    now: "Where you stand now: step {level}, {name}.",
    usual: "The usual next step for someone in your situation is {name}.",
    optionsHeading: "The best options",
    rank: "Suggestion {n}",
    chance: "Chance of moving a step forward",
    interval: "Probably between {lower} and {upper}.",
    upliftBetter: "{x} percentage points better than the usual ({usual}).",
    upliftWorse: "{x} percentage points worse than the usual ({usual}).",
    upliftSame: "About the same as the usual ({usual}).",
    upliftInterval: "Uncertainty: between {lower} and {upper} percentage points.",
    reasons: "Why",
    notice: "Please note",
    journeyHeading: "Your journey",
    journeyIntro: "The timeline shows what you have done (solid line) and what is suggested next (dashed line), on the ladder from no activity (0) to work ({top}).",
    done: "Done",
    planned: "Suggested",
    start: "Start",
    nowMark: "Now",
    stepAxis: "Step",
    doneItem: "Done: {name}, day {start}–{end}. Step {before} → {after}.",
    plannedItem: "Suggestion {position}: {name}. Expected step afterwards: {after}.",
    chartTitle: "Your journey as a timeline",
    chartDesc: "{done} done and {planned} suggested programmes. The same content is in the list below the picture.",
    model: "Model version {version}.",
    footer: "The suggestions are estimates from a statistical model. Always talk them through with your case worker.",
    chosen: "{n} suggestions shown.",
    day: "day",
    enum: {
      gender: { woman: "Woman", man: "Man", unknown: "Prefer not to say" },
      income_source: {
        sickness_benefit: "Sickness benefit",
        activity_compensation: "Activity compensation",
        sickness_compensation: "Sickness compensation",
        social_assistance: "Social assistance",
        unemployment_benefit: "Unemployment benefit or activity support",
        no_income: "No income",
        other: "Other",
      },
      referral_source: {
        municipality: "The municipality",
        employment_service: "The Public Employment Service",
        social_insurance: "The Social Insurance Agency",
        healthcare: "Healthcare",
        self: "I found my own way here",
      },
      education: {
        compulsory: "Compulsory school",
        upper_secondary: "Upper secondary school",
        post_secondary: "University or other post-secondary education",
        unknown: "Don't know or prefer not to say",
      },
      swedish_level: {
        weak: "I know a little Swedish",
        basic: "I manage everyday life in Swedish",
        fluent: "I speak Swedish fluently",
      },
    },
  },
};

// The persons contract's values, in the order the selects offer them.
const ENUMS = {
  gender: ["woman", "man", "unknown"],
  income_source: [
    "social_assistance",
    "sickness_benefit",
    "activity_compensation",
    "sickness_compensation",
    "unemployment_benefit",
    "no_income",
    "other",
  ],
  referral_source: ["municipality", "employment_service", "social_insurance", "healthcare", "self"],
  education: ["compulsory", "upper_secondary", "post_secondary", "unknown"],
  swedish_level: ["weak", "basic", "fluent"],
};
const EPISODE_FIELDS = ["intervention", "start_day", "end_day", "hours", "step_before", "step_after"];
const SVG_NS = "http://www.w3.org/2000/svg";

const state = { lang: "sv", catalogue: null, lastRequest: null, lastAnswer: null, rowSeq: 0 };
const $ = (id) => document.getElementById(id);

function t(key, vars) {
  let text = TEXT[state.lang][key];
  if (text === undefined) text = TEXT.sv[key] ?? key;
  for (const [name, value] of Object.entries(vars || {})) text = text.split(`{${name}}`).join(value);
  return text;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api(path, options) {
  // Same-origin only: the HttpOnly demo cookie authorises the call; no key lives in the page.
  return fetch(path, {
    credentials: "same-origin",
    ...options,
    headers: { Accept: "application/json", ...(options && options.headers) },
  });
}

/* ---------- the catalogue ---------- */

function listOf(value, key) {
  // The catalogue's collections as lists, whether sent as lists or keyed by code.
  if (Array.isArray(value)) return value;
  return Object.entries(value || {}).map(([code, item]) => ({ [key]: code, ...item }));
}

function interventionName(code) {
  const item = state.catalogue.interventions.find((i) => i.code === code);
  if (!item) return code;
  return item[state.lang] || item.name || code;
}

function stepName(level) {
  const step = state.catalogue.steps.find((s) => Number(s.level) === Number(level));
  return step ? step[state.lang] || step.name || String(level) : String(level);
}

function offeredInterventions() {
  const region = state.catalogue.regions.find((r) => r.code === $("f-region").value);
  const offers = region && region.offers ? new Set(region.offers) : null;
  return state.catalogue.interventions.filter((i) => !offers || offers.has(i.code));
}

function fillSelect(select, items) {
  // items: [{value, label}]; keeps the chosen value when it is still offered.
  const chosen = select.value;
  select.replaceChildren(...items.map((item) => el("option", { value: item.value, text: item.label })));
  if (items.some((item) => item.value === chosen)) select.value = chosen;
}

function fillEnums() {
  for (const select of document.querySelectorAll("select[data-enum]")) {
    const name = select.dataset.enum;
    fillSelect(
      select,
      ENUMS[name].map((value) => ({ value, label: TEXT[state.lang].enum[name][value] })),
    );
  }
}

function fillRegions() {
  fillSelect(
    $("f-region"),
    state.catalogue.regions
      .filter((r) => r.served !== false) // regions the model never saw cannot be served
      .map((r) => ({ value: r.code, label: r.name || r.code })),
  );
}

/* ---------- past interventions ---------- */

function historyRows() {
  return Array.from($("history").children);
}

function stepOptions() {
  return state.catalogue.steps.map((s) => ({
    value: String(s.level),
    label: `${s.level} – ${stepName(s.level)}`,
  }));
}

function fillRow(row) {
  const id = row.dataset.id;
  fillSelect(
    $(`${id}-intervention`),
    offeredInterventions().map((i) => ({ value: i.code, label: interventionName(i.code) })),
  );
  fillSelect($(`${id}-step_before`), stepOptions());
  fillSelect($(`${id}-step_after`), stepOptions());
}

function labelRow(row, index) {
  const id = row.dataset.id;
  row.querySelector("legend").textContent = t("episode", { n: index + 1 });
  const labels = {
    intervention: "intervention",
    start_day: "startDay",
    end_day: "endDay",
    hours: "hours",
    step_before: "stepBefore",
    step_after: "stepAfter",
  };
  for (const [field, key] of Object.entries(labels)) {
    row.querySelector(`label[for="${id}-${field}"]`).textContent = t(key);
  }
  const remove = row.querySelector("button.remove");
  remove.textContent = t("remove");
  remove.setAttribute("aria-label", t("removeLabel", { n: index + 1 }));
}

function addRow() {
  const rows = historyRows();
  const id = `h${++state.rowSeq}`;
  // A new episode starts where the previous one ended.
  const previous = rows.length ? rows[rows.length - 1].dataset.id : null;
  const startDay = previous ? $(`${previous}-end_day`).value : "0";
  const stepBefore = previous ? $(`${previous}-step_after`).value : "0";

  const field = (name, control) =>
    el(
      "div",
      { class: `field field-${name}` },
      el("label", { for: `${id}-${name}` }),
      control,
      el("p", { class: "error", id: `${id}-${name}-error`, hidden: true }),
    );
  const number = (name, mode, value) =>
    el("input", {
      id: `${id}-${name}`,
      name,
      type: "text",
      inputmode: mode,
      autocomplete: "off",
      size: "6",
      value,
    });
  const row = el(
    "li",
    { class: "episode", "data-id": id },
    el(
      "fieldset",
      {},
      el("legend"),
      el(
        "div",
        { class: "episode-fields" },
        field("intervention", el("select", { id: `${id}-intervention`, name: "intervention" })),
        field("start_day", number("start_day", "numeric", startDay)),
        field("end_day", number("end_day", "numeric", "")),
        field("hours", number("hours", "decimal", "")),
        field("step_before", el("select", { id: `${id}-step_before`, name: "step_before" })),
        field("step_after", el("select", { id: `${id}-step_after`, name: "step_after" })),
      ),
      el("button", { type: "button", class: "remove secondary" }),
    ),
  );
  row.querySelector("button.remove").addEventListener("click", () => removeRow(row));
  $("history").append(row);
  fillRow(row);
  $(`${id}-step_before`).value = stepBefore;
  $(`${id}-step_after`).value = stepBefore;
  relabelRows();
  $(`${id}-intervention`).focus();
}

function removeRow(row) {
  const rows = historyRows();
  const index = rows.indexOf(row);
  row.remove();
  relabelRows();
  const left = historyRows();
  // Keep the keyboard user's place: the next row's remove button, else the add button.
  const next = left[Math.min(index, left.length - 1)];
  (next ? next.querySelector("button.remove") : $("add-episode")).focus();
  announce(t("removed"));
}

function relabelRows() {
  historyRows().forEach(labelRow);
  $("history-empty").hidden = historyRows().length > 0;
}

/* ---------- language ---------- */

function relabel() {
  document.documentElement.lang = state.lang;
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  const button = $("lang-switch");
  button.textContent = t("switchTo");
  button.setAttribute("lang", t("switchLang"));
  fillEnums();
  if (state.catalogue) historyRows().forEach(fillRow);
  relabelRows();
}

async function switchLanguage() {
  state.lang = state.lang === "sv" ? "en" : "sv";
  relabel();
  if (state.lastRequest) await ask({ ...state.lastRequest, lang: state.lang });
}

/* ---------- the request ---------- */

function numberOrRaw(text, integer) {
  // A number when the text is one (a decimal comma is fine); otherwise the text itself, so
  // that the server names the field.
  const trimmed = text.trim();
  if (trimmed === "") return null;
  const value = Number(trimmed.replace(",", ".").replace(/\s/g, ""));
  if (Number.isNaN(value)) return trimmed;
  return integer && Number.isInteger(value) ? Math.trunc(value) : value;
}

function buildRequest() {
  const person = {
    gender: $("f-gender").value,
    age: numberOrRaw($("f-age").value, true),
    region: $("f-region").value,
    years_on_support: numberOrRaw($("f-years_on_support").value, false),
    income_source: $("f-income_source").value,
    referral_source: $("f-referral_source").value,
    education: $("f-education").value,
    born_abroad: $("f-born_abroad").checked,
    swedish_level: $("f-swedish_level").value,
    mental_ill_health: $("f-mental_ill_health").checked,
    violence_exposure: $("f-violence_exposure").checked,
  };
  const history = historyRows().map((row) => {
    const id = row.dataset.id;
    return {
      intervention: $(`${id}-intervention`).value,
      start_day: numberOrRaw($(`${id}-start_day`).value, true),
      end_day: numberOrRaw($(`${id}-end_day`).value, true),
      hours: numberOrRaw($(`${id}-hours`).value, false),
      step_before: Number($(`${id}-step_before`).value),
      step_after: Number($(`${id}-step_after`).value),
    };
  });
  return { person, history, k: 3, lang: state.lang };
}

/* ---------- errors next to their fields ---------- */

// The server's messages in plain words (its own text when none fits).
const MESSAGES = [
  [/^Input should be a valid integer/, { sv: "Skriv ett heltal, till exempel 34.", en: "Enter a whole number, for example 34." }],
  [/^Input should be a valid number/, { sv: "Skriv ett tal, till exempel 1,5.", en: "Enter a number, for example 1.5." }],
  [/^Input should be greater than or equal to (\S+)/, { sv: "Måste vara minst $1.", en: "Must be at least $1." }],
  [/^Input should be less than or equal to (\S+)/, { sv: "Får vara högst $1.", en: "Must be at most $1." }],
  [/^Input should be a finite number/, { sv: "Skriv ett tal.", en: "Enter a number." }],
  [/^end_day (\d+) is before start_day (\d+)/, { sv: "Sista dagen ($1) är före första dagen ($2).", en: "The last day ($1) is before the first day ($2)." }],
  [/is not offered in region/, { sv: "Den här insatsen finns inte där du får stöd.", en: "This programme is not offered where you get support." }],
  [/^earlier than the previous episode's start_day \((\d+)\)/, { sv: "Börjar före insatsen innan (dag $1).", en: "Starts before the programme before it (day $1)." }],
  [/^overlaps the previous .* ends on day (\d+)/, { sv: "Krockar med förra gången du gick samma insats (den slutade dag $1).", en: "Overlaps the last time you took the same programme (it ended on day $1)." }],
];

function plainMessage(msg) {
  for (const [pattern, words] of MESSAGES) {
    const match = msg.match(pattern);
    if (match) return words[state.lang].replace(/\$(\d)/g, (_, n) => match[Number(n)] ?? "");
  }
  return msg;
}

function errorSlot(control) {
  let slot = $(`${control.id}-error`);
  if (!slot) {
    slot = el("p", { class: "error", id: `${control.id}-error`, hidden: true });
    const box = control.closest(".field, .check") || control.parentElement;
    box.append(slot);
  }
  return slot;
}

function clearErrors() {
  for (const control of document.querySelectorAll("[aria-invalid]")) {
    control.removeAttribute("aria-invalid");
    const ids = (control.getAttribute("aria-describedby") || "")
      .split(" ")
      .filter((x) => x && x !== `${control.id}-error`);
    if (ids.length) control.setAttribute("aria-describedby", ids.join(" "));
    else control.removeAttribute("aria-describedby");
  }
  for (const slot of document.querySelectorAll(".error")) {
    slot.textContent = "";
    slot.hidden = true;
  }
  $("form-error").hidden = true;
  $("form-error").textContent = "";
}

function controlFor(loc, message) {
  const path = loc[0] === "body" ? loc.slice(1) : loc;
  if (path[0] === "person" && path.length > 1) return $(`f-${path[1]}`);
  if (path[0] === "history" && Number.isInteger(path[1])) {
    const row = historyRows()[path[1]];
    if (!row) return null;
    const field = EPISODE_FIELDS.includes(path[2])
      ? path[2]
      : /^end_day/.test(message || "")
        ? "end_day"
        : "intervention";
    return $(`${row.dataset.id}-${field}`);
  }
  return null;
}

function showErrors(detail) {
  const general = [];
  let first = null;
  for (const item of Array.isArray(detail) ? detail : [{ loc: [], msg: String(detail) }]) {
    const control = controlFor(item.loc || [], item.msg);
    if (!control) {
      general.push(item.msg);
      continue;
    }
    const slot = errorSlot(control);
    const text = plainMessage(String(item.msg));
    slot.textContent = slot.textContent ? `${slot.textContent} ${text}` : text;
    slot.hidden = false;
    control.setAttribute("aria-invalid", "true");
    const ids = new Set((control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
    ids.add(slot.id);
    control.setAttribute("aria-describedby", Array.from(ids).join(" "));
    first = first || control;
  }
  const box = $("form-error");
  box.textContent = [t("fixFields"), ...general].join(" ");
  box.hidden = false;
  if (first) first.focus();
}

function showFailure(message) {
  const box = $("form-error");
  box.textContent = message;
  box.hidden = false;
}

/* ---------- the answer ---------- */

function percent(value) {
  return new Intl.NumberFormat(state.lang === "sv" ? "sv-SE" : "en-GB", {
    style: "percent",
    maximumFractionDigits: 0,
  }).format(value);
}

function points(value) {
  return new Intl.NumberFormat(state.lang === "sv" ? "sv-SE" : "en-GB", {
    maximumFractionDigits: 0,
    signDisplay: "exceptZero",
  }).format(value * 100);
}

function stepText(value) {
  return new Intl.NumberFormat(state.lang === "sv" ? "sv-SE" : "en-GB", {
    maximumFractionDigits: 1,
  }).format(value);
}

function optionCard(option, index, usual) {
  const uplift = Math.round(option.uplift * 100);
  const upliftText =
    uplift > 0
      ? t("upliftBetter", { x: Math.abs(uplift), usual })
      : uplift < 0
        ? t("upliftWorse", { x: Math.abs(uplift), usual })
        : t("upliftSame", { usual });
  const headingId = `option-${index}`;
  return el(
    "li",
    { class: "option" },
    el("p", { class: "rank", text: t("rank", { n: index + 1 }) }),
    el("h4", { id: headingId, text: option.name }),
    el(
      "p",
      { class: "chance" },
      el("span", { class: "big", text: percent(option.probability) }),
      el("span", { class: "chance-label", text: ` ${t("chance")}` }),
    ),
    el("div", {
      class: "bar",
      "aria-hidden": "true",
      style: `--p:${Math.max(0, Math.min(1, option.probability)) * 100}%;` +
        `--lo:${Math.max(0, option.probability_interval.lower) * 100}%;` +
        `--hi:${Math.min(1, option.probability_interval.upper) * 100}%`,
    }),
    el("p", {
      class: "interval",
      text: t("interval", {
        lower: percent(option.probability_interval.lower),
        upper: percent(option.probability_interval.upper),
      }),
    }),
    el("p", { class: "uplift", text: upliftText }),
    el("p", {
      class: "uplift-interval muted",
      text: t("upliftInterval", {
        lower: points(option.uplift_interval.lower),
        upper: points(option.uplift_interval.upper),
      }),
    }),
    el("h5", { text: t("reasons") }),
    el("ul", { class: "reasons" }, ...option.reasons.map((reason) => el("li", { text: reason }))),
  );
}

function timeline(journey) {
  const top = state.catalogue.steps.reduce((m, s) => Math.max(m, Number(s.level)), 0);
  const done = journey.filter((item) => item.status === "done");
  const planned = journey.filter((item) => item.status === "planned");
  const items = [...done, ...planned];

  // Geometry: the step ladder is the vertical axis, the episodes in order the horizontal one.
  const labels = state.catalogue.steps.map((s) => `${s.level} ${stepName(s.level)}`);
  const left = Math.min(300, 24 + 7.5 * Math.max(...labels.map((l) => l.length)));
  // Columns fill about 820 px (the chart scales with its box), at least 72 px each.
  const colWidth = Math.max(72, Math.floor((820 - left - 24) / (items.length + 1)));
  const width = left + colWidth * (items.length + 1) + 24;
  const rowHeight = 40;
  const topPad = 28;
  const height = topPad + rowHeight * top + 44;
  const x = (i) => left + colWidth * i + colWidth / 2;
  const y = (step) => topPad + rowHeight * (top - Math.max(0, Math.min(top, step)));

  const titleId = "journey-title";
  const descId = "journey-desc";
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width: String(width),
    height: String(height),
    role: "img",
    "aria-labelledby": `${titleId} ${descId}`,
    class: "timeline",
  });
  chart.append(svg("title", { id: titleId }, t("chartTitle")));
  chart.append(
    svg("desc", { id: descId }, t("chartDesc", { done: done.length, planned: planned.length })),
  );
  for (const s of state.catalogue.steps) {
    const yy = y(Number(s.level));
    chart.append(svg("line", { x1: left, x2: width - 12, y1: yy, y2: yy, class: "grid" }));
    chart.append(
      svg("text", { x: left - 10, y: yy + 4, class: "axis", "text-anchor": "end" }, `${s.level} ${stepName(s.level)}`),
    );
  }
  // The "now" divider between what was done and what is suggested.
  const nowX = x(done.length) + colWidth / 2;
  chart.append(svg("line", { x1: nowX, x2: nowX, y1: topPad - 18, y2: height - 30, class: "now" }));
  chart.append(svg("text", { x: nowX, y: topPad - 20 + 4, class: "now-label", "text-anchor": "middle" }, t("nowMark")));

  // The path: start (the first step before), then each episode's step after.
  const startStep = items.length ? items[0].step_before : 0;
  let prev = { x: x(0), y: y(startStep) };
  chart.append(svg("circle", { cx: prev.x, cy: prev.y, r: 5, class: "start" }));
  chart.append(svg("text", { x: prev.x, y: height - 12, class: "col", "text-anchor": "middle" }, t("start")));
  items.forEach((item, i) => {
    const point = { x: x(i + 1), y: y(item.step_after) };
    const kind = item.status === "done" ? "done" : "planned";
    chart.append(svg("line", { x1: prev.x, y1: prev.y, x2: point.x, y2: point.y, class: `path ${kind}` }));
    prev = point;
  });
  items.forEach((item, i) => {
    const kind = item.status === "done" ? "done" : "planned";
    const cx = x(i + 1);
    const cy = y(item.step_after);
    chart.append(svg("circle", { cx, cy, r: 11, class: `dot ${kind}` }));
    chart.append(svg("text", { x: cx, y: cy + 4, class: `dot-label ${kind}`, "text-anchor": "middle" }, String(i + 1)));
    chart.append(svg("text", { x: cx, y: height - 12, class: "col", "text-anchor": "middle" }, kind === "done" ? t("done") : t("planned")));
  });

  // The text alternative, visible to everyone: the numbered list the chart's dots refer to.
  const list = el(
    "ol",
    { class: "journey-list" },
    ...items.map((item) =>
      el(
        "li",
        { class: `journey-item ${item.status}`, "data-status": item.status },
        el("span", { class: `tag ${item.status}`, text: item.status === "done" ? t("done") : t("planned") }),
        " ",
        el("span", {
          text:
            item.status === "done"
              ? t("doneItem", {
                  name: item.name,
                  start: item.start_day ?? "?",
                  end: item.end_day ?? "?",
                  before: stepText(item.step_before),
                  after: stepText(item.step_after),
                })
              : t("plannedItem", {
                  position: item.position,
                  name: item.name,
                  after: stepText(item.step_after),
                }),
        }),
      ),
    ),
  );
  const figure = el(
    "figure",
    { class: "journey" },
    el("div", { class: "chart-scroll", tabindex: "0", role: "group", "aria-label": t("chartTitle") }, chart),
    el("figcaption", { class: "muted", text: t("journeyIntro", { top }) }),
  );
  return [figure, list];
}

function render(answer) {
  const body = $("results-body");
  const usual = answer.usual_path.name;
  const parts = [
    el("p", {
      class: "now-step",
      text: t("now", { level: answer.current_step.level, name: answer.current_step.name }),
    }),
    el("p", { text: t("usual", { name: usual }) }),
  ];
  if (!answer.confident && answer.notice) {
    parts.push(
      el(
        "div",
        { class: "notice", role: "note" },
        el("strong", { text: `${t("notice")}: ` }),
        el("span", { text: answer.notice }),
      ),
    );
  }
  parts.push(el("h3", { text: t("optionsHeading") }));
  parts.push(el("ol", { class: "options" }, ...answer.options.map((o, i) => optionCard(o, i, usual))));
  parts.push(el("h3", { text: t("journeyHeading") }));
  parts.push(...timeline(answer.journey));
  parts.push(el("p", { class: "muted small", text: t("model", { version: answer.model_version }) }));
  body.replaceChildren(...parts);
  $("results").hidden = false;
}

function announce(message) {
  const status = $("status") || document.body.appendChild(el("p", { id: "status", class: "visually-hidden", role: "status" }));
  status.textContent = "";
  window.setTimeout(() => {
    status.textContent = message;
  }, 50);
}

async function ask(request) {
  const results = $("results");
  const submit = $("submit");
  clearErrors();
  results.setAttribute("aria-busy", "true");
  submit.disabled = true;
  submit.textContent = t("loading");
  try {
    const response = await api("/v1/recommend", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(request),
    });
    if (response.status === 422) {
      const payload = await response.json().catch(() => ({ detail: [] }));
      showErrors(payload.detail);
      return false;
    }
    if (response.status === 401 || response.status === 403) {
      showFailure(t("noAccess"));
      return false;
    }
    if (!response.ok) {
      showFailure(t("failed"));
      return false;
    }
    const answer = await response.json();
    state.lastRequest = request;
    state.lastAnswer = answer;
    render(answer);
    announce(t("chosen", { n: answer.options.length }));
    return true;
  } catch (error) {
    showFailure(t("failed"));
    return false;
  } finally {
    results.setAttribute("aria-busy", "false");
    submit.disabled = false;
    submit.textContent = t("submit");
  }
}

/* ---------- start ---------- */

async function start() {
  relabel();
  $("lang-switch").addEventListener("click", switchLanguage);
  $("add-episode").addEventListener("click", addRow);
  $("f-region").addEventListener("change", () => historyRows().forEach(fillRow));
  $("form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const ok = await ask(buildRequest());
    if (ok) $("results-heading").focus();
  });
  try {
    const response = await api("/v1/catalogue");
    if (!response.ok) throw new Error(String(response.status));
    const raw = await response.json();
    state.catalogue = {
      regions: listOf(raw.regions, "code"),
      interventions: listOf(raw.interventions, "code"),
      steps: listOf(raw.steps, "level").sort((a, b) => Number(a.level) - Number(b.level)),
    };
    fillRegions();
    document.body.dataset.ready = "true";
  } catch (error) {
    showFailure(t("catalogueFailed"));
  }
}

document.addEventListener("DOMContentLoaded", start);

"""Plain sentences, in Swedish and English, from the features that drive an estimate.

Each feature has a template that states a fact about the person in words they recognise
("Du har redan gått en mobiliseringskurs"); the sign of its contribution says whether the fact
speaks for the option or against it. Gender and violence exposure are never turned into a
sentence, whatever their contribution.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from adapt.catalogue import Catalogue
from adapt.features import SENSITIVE
from adapt.models._arms import ARM, ARM_AT_STEP
from adapt.models._sequence_learner import (
    DONE_BEFORE,
    REPEATS_LAST,
    SAME_FAMILY_AS_LAST,
    SAME_FAMILY_AS_SECOND,
)

# The candidate intervention itself, in whichever columns a learner carries it.
OPTION_ITSELF = (ARM, ARM_AT_STEP)
NEVER_A_REASON = frozenset(SENSITIVE)

_WORDS = {
    "swedish_level": {
        "sv": {"weak": "svaga", "basic": "grundläggande", "fluent": "goda"},
        "en": {"weak": "weak", "basic": "basic", "fluent": "fluent"},
    },
    "education": {
        "sv": {
            "compulsory": "grundskola",
            "upper_secondary": "gymnasium",
            "post_secondary": "eftergymnasial utbildning",
            "unknown": "okänd utbildning",
        },
        "en": {
            "compulsory": "compulsory school",
            "upper_secondary": "upper secondary school",
            "post_secondary": "post-secondary education",
            "unknown": "an unknown education",
        },
    },
    "income_source": {
        "sv": {
            "sickness_benefit": "sjukpenning",
            "activity_compensation": "aktivitetsersättning",
            "sickness_compensation": "sjukersättning",
            "social_assistance": "ekonomiskt bistånd",
            "unemployment_benefit": "a-kassa",
            "no_income": "ingen inkomst",
            "other": "annan försörjning",
        },
        "en": {
            "sickness_benefit": "sickness benefit",
            "activity_compensation": "activity compensation",
            "sickness_compensation": "sickness compensation",
            "social_assistance": "social assistance",
            "unemployment_benefit": "unemployment benefit",
            "no_income": "no income",
            "other": "another income",
        },
    },
    "referral_source": {
        "sv": {
            "municipality": "kommunen",
            "employment_service": "Arbetsförmedlingen",
            "social_insurance": "Försäkringskassan",
            "healthcare": "vården",
            "self": "eget initiativ",
        },
        "en": {
            "municipality": "the municipality",
            "employment_service": "the Employment Service",
            "social_insurance": "the Social Insurance Agency",
            "healthcare": "health care",
            "self": "your own initiative",
        },
    },
}


class Sentences:
    """Turns feature contributions into 2–4 sentences for one option."""

    def __init__(self, catalogue: Catalogue, lang: str):
        if lang not in ("sv", "en"):
            raise ValueError(f"lang must be 'sv' or 'en', got {lang!r}")
        self.catalogue, self.lang = catalogue, lang

    def reasons(
        self,
        contributions,
        features: dict,
        option: str,
        usual: str,
        low: int = 2,
        high: int = 4,
    ) -> list[str]:
        """The largest contributions that speak for `option` (at most `high`); when fewer than
        `low` do, the largest against it fill up. `contributions` (a Series or a mapping) are
        per feature, against the usual path (or the average case when `option` is the usual
        path)."""
        merged = self._merge(contributions)
        # largest first (ties: in the features' order); sentences only for those that are used
        order = sorted(merged, key=lambda feature: -abs(merged[feature]))
        pro, con = [], []
        for feature in order:
            if len(pro) >= high and len(con) >= low:
                break
            value = merged[feature]
            if feature in NEVER_A_REASON or abs(value) < 1e-9:
                continue
            if (value > 0 and len(pro) >= high) or (value < 0 and len(con) >= low):
                continue
            fact = self._fact(feature, features, option, usual, value > 0)
            if fact is not None:
                # the option's own effect is a whole sentence; other facts speak for or against
                (pro if value > 0 else con).append((value, f"{fact}." if feature == ARM else fact))
        con = con[: max(low - len(pro), 0)]
        return [f if f.endswith(".") else self._sentence(f, v > 0) for v, f in pro + con]

    # -- pieces -----------------------------------------------------------------------------------
    @staticmethod
    def _merge(contributions) -> dict:
        """Per feature, its contribution; the option's own columns summed into one."""
        items = contributions.items()
        merged = {f: float(v) for f, v in items if f not in OPTION_ITSELF}
        merged[ARM] = sum(float(contributions.get(c, 0.0)) for c in OPTION_ITSELF)
        return merged

    def _name(self, code: str) -> str:
        return self.catalogue.interventions[code].name(self.lang)

    def _sentence(self, fact: str, speaks_for: bool) -> str:
        # The option is named on its card: "this intervention" keeps each reason short.
        if self.lang == "sv":
            tail = "det talar för" if speaks_for else "det talar något emot"
            return f"{fact}, och {tail} den här insatsen."
        tail = "which speaks for" if speaks_for else "which speaks somewhat against"
        return f"{fact}, {tail} this intervention."

    def _fact(self, feature: str, x: dict, option: str, usual: str, positive: bool) -> str | None:
        sv = self.lang == "sv"
        value = x.get(feature)
        name = self._name(option)
        if feature == ARM:
            step = self.catalogue.steps[int(x["current_step"])].name(self.lang).lower()
            if option == usual:
                return (
                    f"{name} brukar leda framåt för personer i ett läge som ditt ({step})"
                    if sv
                    else f"{name} tends to lead forward for people in a situation like yours "
                    f"({step})"
                )
            usual_name = self._name(usual)
            return (
                f"För personer i ett läge som ditt ({step}) leder {name} oftare framåt än "
                f"den vanliga vägen, {usual_name}"
                if sv and positive
                else f"För personer i ett läge som ditt ({step}) leder {name} mer sällan framåt "
                f"än den vanliga vägen, {usual_name}"
                if sv
                else f"For people in a situation like yours ({step}), {name} leads forward more "
                f"often than the usual path, {usual_name}"
                if positive
                else f"For people in a situation like yours ({step}), {name} leads forward less "
                f"often than the usual path, {usual_name}"
            )
        if feature == REPEATS_LAST:
            return (
                (
                    f"{name} vore samma insats som din senaste"
                    if value
                    else f"{name} vore något nytt"
                )
                if sv
                else (
                    f"{name} would repeat your last intervention"
                    if value
                    else f"{name} would be new"
                )
            )
        if feature in (SAME_FAMILY_AS_LAST, SAME_FAMILY_AS_SECOND):
            which = (
                ("din senaste insats" if feature == SAME_FAMILY_AS_LAST else "insatsen före den")
                if sv
                else (
                    "your last intervention"
                    if feature == SAME_FAMILY_AS_LAST
                    else "the one before it"
                )
            )
            if sv:
                return (
                    f"{name} liknar {which}" if value else f"{name} är av ett annat slag än {which}"
                )
            return f"{name} is like {which}" if value else f"{name} is of another kind than {which}"
        if feature == DONE_BEFORE:
            return (
                (f"Du har gått {name} förut" if value else f"Du har inte gått {name} förut")
                if sv
                else (
                    f"You have done {name} before" if value else f"You have not done {name} before"
                )
            )
        return self._person_fact(feature, value, x)

    def _person_fact(self, feature: str, value, x: dict) -> str | None:
        sv = self.lang == "sv"
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        if feature in _WORDS and not missing:
            word = _WORDS[feature][self.lang].get(str(value), str(value))
            return {
                "swedish_level": ("Dina kunskaper i svenska är " if sv else "Your Swedish is ")
                + word,
                "education": ("Du har " if sv else "You have ") + word,
                "income_source": ("Du har " if sv else "Your income is ") + word,
                "referral_source": ("Du kom hit via " if sv else "You came here through ") + word,
            }[feature]
        if missing and feature not in (
            "days_in_previous",
            "episodes_since_gain",
            "episodes_since_back",
        ):
            return None
        n = None if missing else _number(value)
        if feature == "age":
            return f"Du är {n} år" if sv else f"You are {n}"
        if feature == "years_on_support":
            return (
                f"Du har haft stöd i {_years(value, sv)}"
                if sv
                else f"You have been on support for {_years(value, sv)}"
            )
        if feature == "born_abroad":
            return (
                ("Du är född utomlands" if value else "Du är född i Sverige")
                if sv
                else ("You were born abroad" if value else "You were born in Sweden")
            )
        if feature == "mental_ill_health":
            return (
                ("Du har psykisk ohälsa" if value else "Du har inte uppgett psykisk ohälsa")
                if sv
                else (
                    "You live with mental ill health"
                    if value
                    else "You have not reported mental ill health"
                )
            )
        if feature == "region":
            region = self.catalogue.regions.get(str(value))
            where = region.name if region else str(value)
            return f"Du bor i {where}" if sv else f"You live in {where}"
        if feature == "current_step":
            step = self.catalogue.steps[int(value)].name(self.lang).lower()
            return (
                f"Du står just nu på steget ”{step}”" if sv else f"You are now at the step “{step}”"
            )
        if feature == "steps_gained":
            return (
                (
                    f"Du har klättrat {n} steg sedan du började"
                    if n
                    else "Du har inte klättrat något steg ännu"
                )
                if sv
                else (
                    f"You have climbed {n} step(s) since you started"
                    if n
                    else "You have not climbed a step yet"
                )
            )
        if feature == "steps_back":
            return (
                (
                    f"Du har gått tillbaka ett steg {n} gång(er)"
                    if n
                    else "Du har aldrig gått tillbaka ett steg"
                )
                if sv
                else (
                    f"You have gone back a step {n} time(s)"
                    if n
                    else "You have never gone back a step"
                )
            )
        if feature == "n_previous":
            return (
                (
                    f"Du har gått {n} insatser hittills"
                    if n
                    else "Du har inte gått någon insats ännu"
                )
                if sv
                else (
                    f"You have done {n} interventions so far"
                    if n
                    else "You have not done any intervention yet"
                )
            )
        if feature == "days_since_entry":
            return (
                f"Du började för {_days(value, sv)} sedan"
                if sv
                else f"You started {_days(value, sv)} ago"
            )
        if feature == "days_in_previous":
            if missing:
                return None
            return (
                f"Din senaste insats varade {_days(value, sv)}"
                if sv
                else f"Your last intervention lasted {_days(value, sv)}"
            )
        if feature in ("previous_intervention", "last_2", "last_3"):
            if str(value) == "none":
                return (
                    "Du har inte gått någon insats ännu"
                    if sv and feature == "previous_intervention"
                    else (
                        "You have not done any intervention yet"
                        if feature == "previous_intervention"
                        else None
                    )
                )
            what = self._name(str(value))
            lead = {
                "previous_intervention": ("Din senaste insats var", "Your last intervention was"),
                "last_2": ("Insatsen före den var", "The one before it was"),
                "last_3": ("Före den gick du", "Before that you did"),
            }[feature]
            return f"{lead[0] if sv else lead[1]} {what}"
        if feature in ("family_1", "family_2", "families_last_two"):
            return (
                "Ordningen på dina senaste insatser"
                if sv
                else "The order of your latest interventions"
            )
        if feature in ("change_1", "change_2"):
            which = (
                ("din senaste insats" if feature == "change_1" else "insatsen före den")
                if sv
                else ("your last intervention" if feature == "change_1" else "the one before it")
            )
            if sv:
                return f"Efter {which} gick du " + (
                    "framåt" if n > 0 else "tillbaka" if n < 0 else "varken framåt eller tillbaka"
                )
            return f"After {which} you went " + (
                "forward" if n > 0 else "back" if n < 0 else "neither forward nor back"
            )
        if feature == "episodes_at_step":
            return (
                f"Du har gått {n} insats(er) på ditt nuvarande steg"
                if sv
                else f"You have done {n} intervention(s) at your current step"
            )
        if feature == "days_at_step":
            return (
                f"Du har stått på samma steg i {_days(value, sv)}"
                if sv
                else f"You have been at the same step for {_days(value, sv)}"
            )
        if feature == "hours_at_step":
            return (
                f"Du har {n} timmar av insatser på ditt nuvarande steg"
                if sv
                else f"You have {n} hours of interventions at your current step"
            )
        if feature in ("episodes_since_gain", "episodes_since_back"):
            gain = feature == "episodes_since_gain"
            if missing:
                return (
                    (
                        "Du har inte klättrat något steg ännu"
                        if gain
                        else "Du har aldrig gått tillbaka ett steg"
                    )
                    if sv
                    else (
                        "You have not climbed a step yet"
                        if gain
                        else "You have never gone back a step"
                    )
                )
            if sv:
                return f"Det är {n} insats(er) sedan du senast " + (
                    "klättrade ett steg" if gain else "gick tillbaka"
                )
            return f"It is {n} intervention(s) since you last " + (
                "climbed a step" if gain else "went back"
            )
        for prefix in ("n_", "hours_"):
            code = feature.removeprefix(prefix)
            if feature.startswith(prefix) and code in self.catalogue.interventions:
                what = self._name(code)
                if prefix == "n_":
                    return (
                        (f"Du har redan gått {what}" if n else f"Du har inte gått {what}")
                        if sv
                        else (f"You have already done {what}" if n else f"You have not done {what}")
                    )
                return (
                    (f"Du har {n} timmar i {what}" if n else None)
                    if sv
                    else (f"You have {n} hours in {what}" if n else None)
                )
        if feature.startswith("x_"):
            return f"Uppgiften {feature[2:]} är {value}" if sv else f"Your {feature[2:]} is {value}"
        return None


def _number(value) -> int:
    return int(round(float(value))) if not isinstance(value, str) else value


def _days(value, sv: bool) -> str:
    days = float(value)
    if days >= 60:
        months = round(days / 30.4)
        return f"{months} månader" if sv else f"{months} months"
    n = int(round(days))
    return (
        (f"{n} dag" if n == 1 else f"{n} dagar") if sv else (f"{n} day" if n == 1 else f"{n} days")
    )


def _years(value, sv: bool) -> str:
    years = float(value)
    if years < 1:
        months = max(int(round(years * 12)), 1)
        return f"{months} månader" if sv else f"{months} months"
    shown = f"{years:.1f}".rstrip("0").rstrip(".")
    if sv:
        shown = shown.replace(".", ",")
        return f"{shown} år"
    return f"{shown} years" if shown != "1" else "1 year"


def feature_values(X: pd.DataFrame) -> dict:
    """The single row `X` as plain Python values, for the templates."""
    row = X.iloc[0]
    return {c: (v.item() if isinstance(v, np.generic) else v) for c, v in row.items()}

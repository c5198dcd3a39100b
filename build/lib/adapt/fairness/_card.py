"""The model card: what a fitted recommender is, what it is for and must never be used for,
where its data came from, how it was validated and audited, and what it cannot tell.

Written as Markdown (``model_card.md``) and as a self-contained HTML page converted from it
(``model_card.html``) for readers who are not programmers. Only aggregates enter the card:
the model's settings and feature names, the caller's description of the data, validation
metrics and the audit's figures; never a row of the data.
"""

from __future__ import annotations

import math
import numbers
import re
import warnings
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from markupsafe import Markup

from adapt.contract import CONTRACT_VERSION
from adapt.fairness._report import (
    CANNOT_JUDGE,
    FAILED,
    LABELS,
    PASSED,
    audit_json,
    check_status,
    simultaneous,
    verdict,
)
from adapt.fairness._templates import render
from adapt.features import SENSITIVE

if TYPE_CHECKING:
    from adapt.models import MultiTreatmentLearner

CARD_MARKDOWN, CARD_HTML = "model_card.md", "model_card.html"

_SUBJECTS = {
    "recommender": "what the model recommends",
    "behaviour": "what caseworkers chose, in the data",
}
_THRESHOLDS = {
    "similar_rate_ratio": "women's rate of being recommended an intervention over men's, in a "
    "similar situation: a check fails when its whole interval lies below this or above its "
    "inverse",
    "similar_benefit_ratio": "women's mean benefit of what is recommended over men's, in a "
    "similar situation: fails when its whole interval lies below this",
    "calibration_gap": "women's (observed - predicted progression) minus men's: fails when its "
    "whole interval lies beyond plus or minus this",
    "min_recommended": "interventions recommended fewer times are reported, not judged",
    "min_group_size": "women or men (persons) fewer than this are reported, not compared",
    "level": "coverage of the bootstrap intervals",
    "n_bootstrap": "bootstrap resamples (of persons) behind each interval",
}
_PLAIN = (str, numbers.Number, type(None))


def model_card(
    model: MultiTreatmentLearner,
    *,
    audit: Mapping | None = None,
    metrics: Mapping[str, float] | None = None,
    data: Mapping | None = None,
    version: str | None = None,
    date: str | None = None,
) -> str:
    """The model card of the fitted `model` as Markdown.

    `audit` is the result of :func:`audit_choices` (read through its ``to_json()``) or its
    ``audit.json``, `metrics` the validation metrics (name -> number), `data` plain values
    describing where the training data came from (e.g. ``{"source": "simulated", "preset":
    "default", "n_persons": 5000, "seed": 1}``), `version` and `date` what the caller knows of
    the model's release. Each is optional; the card says when one is missing.

    Raises
    ------
    ValueError
        When `model` is not fitted, or `data` holds anything but plain values (a table of
        persons must never reach a card).
    """
    features = getattr(model, "feature_names_in_", None)
    if features is None:
        raise ValueError(f"model_card needs a fitted learner; this {type(model).__name__} is not")
    data = _plain_values(data or {}, "data")
    catalogue = model.catalogue_
    learner = type(model).__name__
    parts = [
        f"# Model card: {learner} recommender (adapt)",
        "This card describes one fitted model of `adapt`, the library behind the suggestions of "
        "next labour-market interventions on the guide site *Hitta rätt*. Suggestions are "
        "used in a high-risk area (access to welfare services and employment), so read the "
        "sections on what the model must not be used for and on its known limits before "
        "using it.",
        "## Model details",
        _model_details(model, catalogue, version, date),
        "### Interventions",
        _interventions(model, catalogue),
        "### Settings",
        _table(
            ["setting", "value"],
            [
                [_code(k), _value(v)]
                for k, v in sorted(model.get_params().items())
                if k != "catalogue"
            ],
        ),
        "## Intended use and users",
        _INTENDED_USE,
        "## Must not be used for",
        _MUST_NOT,
        "## Data provenance",
        _provenance(data, catalogue),
        "## Features",
        _features(list(features)),
        "## Validation metrics",
        _metrics(metrics),
        "## Fairness audit",
        _audit(audit, learner),
        "## Known limits",
        _KNOWN_LIMITS,
        "## Regulatory note",
        _REGULATORY,
    ]
    return "\n\n".join(parts) + "\n"


def write_model_card(
    folder: str | Path,
    model: MultiTreatmentLearner,
    *,
    audit: Mapping | None = None,
    metrics: Mapping[str, float] | None = None,
    data: Mapping | None = None,
    version: str | None = None,
    date: str | None = None,
) -> tuple[Path, Path]:
    """Write ``model_card.md`` and ``model_card.html`` (see :func:`model_card`) into `folder`;
    returns their paths."""
    text = model_card(model, audit=audit, metrics=metrics, data=data, version=version, date=date)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    markdown, page = folder / CARD_MARKDOWN, folder / CARD_HTML
    markdown.write_text(text, "utf-8")
    page.write_text(card_html(text, f"Model card: {type(model).__name__} recommender"), "utf-8")
    return markdown, page


def card_html(markdown: str, title: str) -> str:
    """A self-contained HTML page of the card's `markdown`, in the audit report's style."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:  # pragma: no cover - markdown-it-py is a dependency
        warnings.warn(
            "markdown-it-py is not installed: the HTML model card shows the Markdown as text",
            stacklevel=2,
        )
        body = Markup("<pre>{}</pre>").format(markdown)
    else:
        # Raw HTML in the text is escaped, never passed through, so markdown-it's output is
        # the one value the template may write unescaped.
        parser = MarkdownIt("commonmark", {"html": False}).enable("table")
        body = Markup(parser.render(markdown))
    return render("card.html", title=title, body=body)


# -- sections ---------------------------------------------------------------------------------
_INTENDED_USE = "\n".join(
    [
        "- **The guide site *Hitta rätt*:** suggestions of a next intervention, with their "
        "reasons, shown to a person and to their caseworker as a starting point for a "
        "conversation. The caseworker and the person decide; the suggestion decides nothing.",
        "- **Caseworkers:** a second opinion on which interventions have helped people in a "
        "similar situation, always beside their own judgement and the person's wishes.",
        "- **Researchers:** studying which sequences of interventions help people back to work, "
        "on simulated data or on real data under the data contract.",
        "- **Evaluators and auditors:** checking the model's validation and fairness figures "
        "before and after it is put in use.",
    ]
)

_MUST_NOT = "\n".join(
    [
        "The model must **not** be used for:",
        "",
        "- deciding, granting, reducing or withdrawing benefits or support of any kind;",
        "- ranking, scoring or sorting people (for example by how likely they are to find "
        "work), or selecting whom to help first;",
        "- sanctions, checks of eligibility or any measure against a person;",
        "- automated decisions: every suggestion goes to a human who can disregard it;",
        "- people outside the population of the data contract (persons on long-term support "
        "in the regions and on the steps of the catalogue it was trained for), or with "
        "another catalogue or contract version than the one recorded below.",
    ]
)

_KNOWN_LIMITS = "\n".join(
    [
        "- **Simulated figures are not real effects.** Figures from simulated data show how "
        "the method behaves in a simulated world whose effects are known; they are not "
        "estimates of what interventions do for real people.",
        "- **Unmeasured confounding.** On real data the model learns from what caseworkers "
        "chose. Whatever drove those choices and is not among the features (motivation, "
        "a caseworker's knowledge of the person) can bias the estimates, and no figure here "
        "can detect it.",
        "- **Small groups are not compared.** The audit compares women and men; persons of "
        "gender `unknown` and other small groups are counted but not compared, so the audit "
        "says nothing about them.",
        "- **A gender-blind model can still treat groups differently** through features "
        "related to gender; the audit checks the suggestions themselves for this reason.",
        "- **Intervals are bootstrap intervals.** Whether they cover the truth as often as "
        "stated is measured elsewhere (the coverage checks on simulated data), not in this "
        "card.",
        "- **Suggestions are limited to the catalogue.** Interventions outside the catalogue, "
        "or not offered in a person's region, are never suggested.",
    ]
)

_REGULATORY = (
    "Suggesting interventions for access to welfare services and employment is a high-risk "
    "use under the EU AI Act (Annex III, point 5(a)). It calls for human oversight (a "
    "caseworker decides, and can always disregard a suggestion), logging (every registered "
    "model is tracked in MLflow with its run, settings, metrics and this card) and technical "
    "documentation (this card, the audit report and the project's documentation). The card "
    "holds aggregates only, never data about a person."
)


def _model_details(model, catalogue, version: str | None, date: str | None) -> str:
    summary = (type(model).__doc__ or "").strip().splitlines()
    n_interventions = len(getattr(model, "interventions_", []))
    lines = [
        f"- **Learner:** `{type(model).__name__}`" + (f": {_text(summary[0])}" if summary else ""),
        f"- **Version:** {_text(version) if version else 'not given'}",
        f"- **Date:** {_text(date) if date else 'not given'}",
        f"- **adapt library version:** {_text(_library_version())}",
        f"- **History the features summarise:** {_text(getattr(model, 'history', 'summary'))}",
        f"- **Catalogue fingerprint:** `{catalogue.fingerprint()}`",
        f"- **Data contract version:** {_text(CONTRACT_VERSION)}",
        f"- **Interventions it can suggest:** {n_interventions} (listed below)",
        "- **Output:** for each intervention offered in the person's region, the estimated "
        "probability of progressing a step, with an interval, and its gain over what "
        "caseworkers usually choose.",
    ]
    return "\n".join(lines)


def _library_version() -> str:
    # Not `adapt.__version__`: the package's root reaches up to the recommender.
    try:
        return metadata.version("adapt")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _interventions(model, catalogue) -> str:
    rows = []
    for code in getattr(model, "interventions_", []):
        known = catalogue.interventions.get(code)
        rows.append(
            [_code(code), _text(known.en) if known else "", _text(known.family) if known else ""]
        )
    return _table(["intervention", "name", "family"], rows)


def _provenance(data: dict, catalogue) -> str:
    source = str(data.get("source", "")).lower()
    if not data:
        lead = "The caller gave no description of the training data with this card."
    elif source.startswith("sim"):
        lead = (
            "The model was trained on **simulated** data: no real person's data was used. "
            "Its figures describe the simulated world only."
        )
    elif source:
        lead = (
            f"The model was trained on data of source **{_text(data['source'])}**, read "
            "under the data contract."
        )
    else:
        lead = "The training data's source (simulated or real) was not given."
    rows = [[_text(k), _value(v)] for k, v in data.items()]
    rows += [
        ["data contract version", _text(CONTRACT_VERSION)],
        ["catalogue fingerprint", f"`{catalogue.fingerprint()}`"],
        ["catalogue file", _code(catalogue.source)],
    ]
    return lead + "\n\n" + _table(["item", "value"], rows)


def _features(features: list[str]) -> str:
    used = [c for c in SENSITIVE if c in features]
    blind = (
        "**Gender-blind: yes.** The model does not read gender or exposure to violence."
        if not used
        else f"**Gender-blind: no.** The model reads {', '.join(_code(c) for c in used)}, so "
        "that estimates can differ where circumstances do; the audit below checks that "
        "suggestions do not."
    )
    return "\n\n".join(
        [
            f"The model reads {len(features)} features, all describing the person's situation "
            "at the decision point (never their name or identity number):",
            ", ".join(_code(c) for c in features),
            blind,
            "Gender and exposure to violence are **never given as a reason** for a "
            "suggestion: the explanations shown to a person leave them out, whatever their "
            "contribution.",
        ]
    )


def _metrics(metrics: Mapping | None) -> str:
    if not metrics:
        return "No validation metrics were given with this card."
    metrics = _plain_values(metrics, "metrics")
    return "Measured on persons held out of training.\n\n" + _table(
        ["metric", "value"], [[_code(k), _value(v)] for k, v in metrics.items()]
    )


def _audit(audit: Mapping | None, learner: str) -> str:
    if audit is None:
        return (
            "**No fairness audit was given with this card.** Audit the model's suggestions "
            "(`adapt audit --model`) before it is put in use."
        )
    audit = audit_json(audit)
    checks = list(audit.get("checks", []))
    failed = [c for c in checks if check_status(c) == FAILED]
    undecided = [c for c in checks if check_status(c) == CANNOT_JUDGE]
    judged = verdict(audit)
    parts = [
        f"**Verdict: {LABELS[judged]}.** The verdict is on the recommender's checks; the checks "
        "on the caseworkers' choices describe the data it learned from. Each check compares how "
        "often women and men in a similar situation are recommended an intervention.",
    ]
    if simultaneous(audit):
        parts.append(
            "Intervals are simultaneous bands: intervals hold jointly over all checks of a "
            "subject at the stated level (`level` below)."
        )
    if audit.get("compared") is False:
        parts.append(
            "**Women and men were too few to compare** (fewer persons in a group than "
            "`min_group_size`): the audit could not judge the model"
            + ("." if judged == CANNOT_JUDGE else ", so it counts as failed.")
        )
    groups = audit.get("groups") or {}
    if "n_decision_points" in audit or groups:
        counted = [f"{_value(audit.get('n_decision_points'))} decision points"]
        counted += [f"{_text(g)} {_value(n)}" for g, n in groups.items()]
        parts.append(", ".join(counted) + " (only women and men are compared).")
    persons = audit.get("persons") or {}
    if persons:
        counted = ", ".join(f"{_text(g)} {_value(n)}" for g, n in persons.items())
        parts.append(f"Persons: {counted}.")
    audited = (audit.get("model") or {}).get("learner")
    if audited and audited != learner:
        parts.append(
            f"**Note:** the audit used the estimates of a {_code(audited)}, not of this "
            f"{_code(learner)}."
        )
    thresholds = audit.get("thresholds") or {}
    if thresholds:
        parts += [
            "### Thresholds",
            _table(
                ["threshold", "value", "meaning"],
                [
                    [_code(k), _value(v), _text(_THRESHOLDS.get(k, ""))]
                    for k, v in thresholds.items()
                ],
            ),
        ]
    parts += [
        "### Checks per subject",
        _per_subject(audit, checks),
        f"### Checks that failed ({len(failed)})",
        _checks(failed) if failed else "None.",
    ]
    if undecided:
        parts += [
            f"### Checks that cannot be judged ({len(undecided)})",
            "Neither passed nor failed: they say nothing either way about the model.",
            _checks(undecided, reasons=True),
        ]
    summary = audit.get("summary")
    if isinstance(summary, Mapping) and summary:
        parts += [
            "### Headline figures",
            _table(
                ["figure", "value"],
                [[_text(str(k).replace("_", " ")), _value(v)] for k, v in summary.items()],
            ),
        ]
    return "\n\n".join(parts)


def _per_subject(audit: Mapping, checks: list[dict]) -> str:
    """How many checks of each subject passed and failed (and could not be judged, if any)."""
    subjects = list(dict.fromkeys([*(audit.get("figures") or {}), *(c["subject"] for c in checks)]))
    if not subjects:
        return "No checks were made."
    statuses = [PASSED, FAILED]
    if any(check_status(c) == CANNOT_JUDGE for c in checks):
        statuses.append(CANNOT_JUDGE)
    rows = [
        [
            f"{_text(s)}: {_SUBJECTS[s]}" if s in _SUBJECTS else _text(s),
            _value(sum(c["subject"] == s for c in checks)),
            *(
                _value(sum(c["subject"] == s and check_status(c) == status for c in checks))
                for status in statuses
            ),
        ]
        for s in subjects
    ]
    return _table(["subject", "checks", *(LABELS[s] for s in statuses)], rows)


def _checks(checks: list[dict], reasons: bool = False) -> str:
    header = ["subject", "check", "ratio", "interval", "threshold"]
    rows = [
        [
            _text(c["subject"]),
            _code(c["name"]),
            _value(c.get("value")),
            _range(c.get("interval")),
            _range(c.get("threshold"), "allowed "),
        ]
        + ([_text(c.get("reason") or "not given")] if reasons else [])
        for c in checks
    ]
    return _table(header + (["reason"] if reasons else []), rows)


# -- formatting -------------------------------------------------------------------------------
def _plain_values(values: Mapping, what: str) -> dict:
    """`values` as a dict, refused unless every value is a plain string, number or None."""
    if not isinstance(values, Mapping):
        raise ValueError(f"{what} must be a mapping of names to plain values")
    values = {k: v.item() if isinstance(v, np.generic) else v for k, v in values.items()}
    for key, value in values.items():
        if not isinstance(value, _PLAIN):
            raise ValueError(
                f"{what}[{key!r}] is a {type(value).__name__}; a model card takes plain values "
                "(text, numbers) only, never tables or lists that could hold data about persons"
            )
    return values


_NUMBER = re.compile(r"-?[\d,]+(\.\d+)?(e[+-]?\d+)?|not available")


def _table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; columns of numbers align right, the rest left."""

    def rule(j: int) -> str:
        cells = [row[j] for row in rows]
        numbers = cells and all(_NUMBER.fullmatch(c) for c in cells)
        return " ---: " if numbers and any(c != "not available" for c in cells) else " :--- "

    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(rule(j) for j in range(len(header))) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(lines)


def _text(value) -> str:
    """`value` as inline Markdown text that renders literally (in a table cell too)."""
    text = " ".join(str(value).split())
    return re.sub(r"([\\`*_\[\]<>|#!&~])", r"\\\1", text)


def _code(value) -> str:
    """`value` as a code span, or as literal text when it holds a backtick or a pipe."""
    text = " ".join(str(value).split())
    return _text(text) if not text or "`" in text or "|" in text else f"`{text}`"


def _value(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not available"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isinf(value):
            return "infinite" if value > 0 else "minus infinite"
        if value.is_integer() and abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:,.1f}" if abs(value) >= 1000 else f"{value:.4g}"
    return _text(value)


def _range(pair, prefix: str = "") -> str:
    if not pair or len(pair) != 2:
        return "not available"
    if pair[1] is None:  # a one-sided threshold
        return f"{prefix}{_value(pair[0])} or more"
    return f"{prefix}{_value(pair[0])} to {_value(pair[1])}"

"""The audit written out: ``audit.json`` with every figure, ``report.html`` for a reader.

The page is ``templates/report.html`` (Jinja2, autoescaped). This module only turns the audit's
JSON form into text to show; it reads fields added since older ``audit.json`` files with
``.get`` fallbacks, so those still render.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from adapt._figures import png_data_uri
from adapt.fairness._audit_plots import calibration_figure, progression_figure, rate_ratio_figure
from adapt.fairness._templates import render
from adapt.fairness.mitigation import tradeoff_figure

PASSED, FAILED, CANNOT_JUDGE = "passed", "failed", "cannot_judge"
LABELS = {PASSED: "passed", FAILED: "failed", CANNOT_JUDGE: "cannot judge"}
_CSS = {PASSED: "pass", FAILED: "fail", CANNOT_JUDGE: "undecided"}


def audit_json(result) -> dict:
    """The audit as the dict ``audit.json`` holds: `result` itself, or its ``to_json()``."""
    to_json = getattr(result, "to_json", None)
    if callable(to_json):
        result = to_json()
        return json.loads(result) if isinstance(result, str) else result
    return result


def check_status(check: dict) -> str:
    """``passed``, ``failed`` or ``cannot_judge``; an older check has only ``passed``."""
    status = check.get("status")
    if status in LABELS:
        return status
    return PASSED if check.get("passed") else FAILED


def verdict(result: dict) -> str:
    """The audit's verdict; an older audit has only ``passed`` (False when not compared)."""
    status = result.get("verdict")
    if status in LABELS:
        return status
    return PASSED if result.get("passed") else FAILED


def simultaneous(result: dict) -> bool:
    """Whether the intervals are simultaneous bands: they are in every audit with a
    ``verdict``, and were per-check intervals in the older files without one."""
    return "verdict" in result


def write_audit(result, folder: str | Path) -> Path:
    """Write ``audit.json`` and ``report.html`` into `folder`; returns the folder.

    `result` is the audit's JSON form or an object with ``to_json()`` giving it.
    """
    result = audit_json(result)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "audit.json").write_text(json.dumps(result, indent=2), "utf-8")
    (folder / "report.html").write_text(report_html(result), "utf-8")
    return folder


def report_html(result) -> str:
    """The audit as one self-contained HTML page a non-programmer can read."""
    result = audit_json(result)
    thresholds = result["thresholds"]
    checks = result.get("checks") or []
    status = verdict(result)
    persons = result.get("persons") or {}
    context = {
        "audited": result.get("audited", "recommender"),
        "verdict": {"status": status, "label": LABELS[status], "css": _CSS[status]},
        "plain_verdict": _plain_verdict(result),
        "counts": {
            "points": _count(result.get("n_decision_points")),
            **{g: _count(persons.get(g)) for g in ("woman", "man", "unknown")},
        },
        "level": f"{100 * thresholds['level']:.0f}",
        "simultaneous": simultaneous(result),
        "compared": result.get("compared", True),
        "min_group_size": thresholds["min_group_size"],
        "n_checks": len(checks),
        "failed": [_check_row(c) for c in checks if check_status(c) == FAILED],
        "undecided": [_check_row(c) for c in checks if check_status(c) == CANNOT_JUDGE],
    }
    if context["compared"]:
        bound = thresholds["similar_rate_ratio"]
        context |= {
            "band": {
                "low": f"{bound:g}",
                "high": f"{1 / bound:.2f}",
                "image": _image(
                    rate_ratio_figure(result), "Ratio of women's to men's rates per intervention"
                ),
            },
            "values": _values(result) if result.get("values") else None,
            "calibration": _calibration(result) if result.get("calibration") else None,
            "flip": _flip(result["flip"]) if result.get("flip") else None,
            "tradeoff": _tradeoff(result) if result.get("tradeoff") else None,
            "intersections": _intersections(result),
            "rates": [
                (title, _rates_table(result["figures"][subject]))
                for subject, title in (
                    ("recommender", f"Rates in detail: the {result.get('audited', 'recommender')}"),
                    ("behaviour", "Rates in detail: what caseworkers did"),
                )
                if subject in result.get("figures", {})
            ],
        }
    return render("report.html", **context)


# -- sections ---------------------------------------------------------------------------------
def _plain_verdict(result: dict) -> str:
    checks = result.get("checks") or []

    def count(subject: str, status: str) -> int:
        return sum(c["subject"] == subject and check_status(c) == status for c in checks)

    words = [
        f"{count('recommender', FAILED)} check(s) on the recommender and "
        f"{count('behaviour', FAILED)} on what caseworkers did failed."
    ]
    undecided = sum(check_status(c) == CANNOT_JUDGE for c in checks)
    if undecided:
        words.append(f"{undecided} could not be judged.")
    summary = result.get("summary") or {}
    for source in result.get("sources") or []:
        before = summary.get(f"{source}_progression_gap_behaviour")
        after = summary.get(f"{source}_progression_gap_recommender")
        if before is not None and after is not None:
            words.append(
                f"Women's {source} chance of progressing, minus men's in a similar situation: "
                f"{100 * before:+.1f} points under caseworkers' choices, {100 * after:+.1f} "
                "under the recommender."
            )
    return " ".join(words)


def _values(result: dict) -> dict:
    rows = [
        [
            r["source"],
            r["subject"],
            r["measure"],
            _pct(r["similar_woman"]),
            _pct(r["similar_man"]),
            _pct(r["similar_gap"]),
            _interval(r["similar_gap_lower"], r["similar_gap_upper"], _pct),
            _num(r["similar_ratio"]),
            _pct(r["unknown"]),
        ]
        for r in result["values"]
    ]
    header = ["source", "subject", "measure", "women", "men", "women - men", "interval"]
    header += ["women / men", "unknown (all situations)"]
    return {
        "image": _image(progression_figure(result), "Expected progression of women and men"),
        "table": _Table(header, rows),
    }


def _calibration(result: dict) -> dict:
    calibration = result["calibration"]
    low, high = calibration["similar_residual_gap_interval"] or (None, None)
    return {
        "gap": _pct(calibration["similar_residual_gap"]),
        "interval": _interval(low, high, _pct),
        "image": _image(calibration_figure(result), "Calibration curves of women and men"),
        "table": _Table.of(_counts_as_integers(pd.DataFrame(calibration["by_group"]), "n")),
    }


def _flip(flip: dict) -> dict:
    if not flip["reads_gender"]:
        return {"table": None, "changed": None}
    rows = [
        [g, _count(v["n"]), _pct(v["changed_share"]), _pct(v["mean_abs_change"])]
        for g, v in flip["by_gender"].items()
    ]
    header = ["gender", "decision points", "changed", "mean change of the first option's chance"]
    return {"table": _Table(header, rows), "changed": _pct(flip["changed_share"])}


_TRADEOFF = ["strength", "max_gap", "gap", "value", "value_woman", "value_man", "changed"]


def _tradeoff(result: dict) -> dict:
    curve = pd.DataFrame(result["tradeoff"])
    return {
        "judged": "true" if "true" in (result.get("sources") or []) else "estimated",
        "image": _image(
            tradeoff_figure(curve), "Value of the choices against the largest gender gap"
        ),
        "table": _Table.of(curve.reindex(columns=_TRADEOFF)),
    }


_INTERSECTION = ["subject", "attribute", "level", "intervention", "n_recommended"]
_INTERSECTION += ["similar_ratio", "similar_ratio_lower", "similar_ratio_upper"]


def _intersections(result: dict) -> dict | None:
    records = pd.DataFrame(result.get("intersections") or [])
    if records.empty:
        return None
    compared = records["compared"].astype(bool)
    small = [f"{a} {lv}" for a, lv in records.loc[~compared, ["attribute", "level"]].to_numpy()]
    table = None
    if compared.any():
        ratio = pd.to_numeric(records.loc[compared, "similar_ratio"], errors="coerce")
        distance = np.abs(np.log(ratio.clip(lower=1e-9)))
        worst = records.loc[distance.sort_values(ascending=False).index[:10]]
        shown = _counts_as_integers(worst.reindex(columns=_INTERSECTION), "n_recommended")
        table = _Table.of(shown, "%.2f")
    return {"small": small, "table": table}


_RATES = {
    "intervention": "intervention",
    "n_recommended": "times chosen",
    "similar_rate_woman": "women (similar situation)",
    "similar_rate_man": "men (similar situation)",
    "similar_ratio": "ratio",
    "similar_ratio_lower": "interval from",
    "similar_ratio_upper": "interval to",
    "ratio": "ratio, all situations",
}


def _rates_table(records: list[dict]) -> _Table:
    table = pd.DataFrame(records).reindex(columns=list(_RATES)).rename(columns=_RATES)
    return _Table.of(table)


# -- formatting -------------------------------------------------------------------------------
@dataclass
class _Table:
    """A table's header and rows, every cell text (the template escapes it)."""

    header: list[str]
    rows: list[list[str]]

    @classmethod
    def of(cls, frame: pd.DataFrame, float_format: str = "%.3f") -> _Table:
        """`frame` as text: floats by `float_format`, a missing figure as "–"."""
        rows = [[_cell(v, float_format) for v in row] for row in frame.itertuples(index=False)]
        return cls([str(c) for c in frame.columns], rows)


def _counts_as_integers(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """`frame` with its counts in `column` shown as integers: JSON and missing groups leave
    them floats."""
    if column not in frame:
        return frame
    counts = pd.to_numeric(frame[column], errors="coerce")
    if not (counts.dropna() % 1 == 0).all():
        return frame
    return frame.assign(**{column: counts.round().astype("Int64")})


def _cell(value, float_format: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool | np.bool_ | numbers.Integral):
        return str(value)
    if isinstance(value, numbers.Real):
        return float_format % value
    return str(value)


def _count(value) -> str:
    return "–" if value is None else f"{value:,}"


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _num(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _interval(low, high, fmt=_num) -> str:
    return "–" if low is None or high is None else f"{fmt(low)} to {fmt(high)}"


def _image(fig, alt: str) -> dict:
    return {"src": png_data_uri(fig), "alt": alt}


def _number(value) -> str:
    """A figure of the audit; an unbounded or undefined one (None in audit.json) as "–"."""
    return "–" if value is None else f"{value:.3f}"


def _allowed(threshold) -> str:
    if not threshold:
        return "–"
    low, high = threshold
    return f"{low:.3g} or more" if high is None else f"{low:.3g} to {high:.3g}"


def _check_row(check: dict) -> dict:
    status = check_status(check)
    interval = check.get("interval")
    return {
        "subject": check["subject"],
        "name": check["name"],
        "value": _number(check.get("value")),
        "interval": "–" if not interval else f"{_number(interval[0])} to {_number(interval[1])}",
        "allowed": _allowed(check.get("threshold")),
        "label": LABELS[status],
        "css": _CSS[status],
        "reason": check.get("reason") if status == CANNOT_JUDGE else None,
    }

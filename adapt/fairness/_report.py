"""The audit written out: ``audit.json`` with every figure, ``report.html`` for a reader."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

from adapt._figures import png_data_uri
from adapt.fairness._audit_plots import calibration_figure, progression_figure, rate_ratio_figure
from adapt.fairness._mitigate import tradeoff_figure

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;"
    "color:#1a1a1a;line-height:1.5}table{border-collapse:collapse;margin:1rem 0}"
    "td,th{border:1px solid #999;padding:.25rem .5rem;text-align:right}"
    "th:first-child,td:first-child{text-align:left}.fail{color:#a00000;font-weight:bold}"
    ".pass{color:#006400;font-weight:bold}img{max-width:100%}.note{color:#444}"
    ".verdict{font-size:1.15rem;padding:.75rem 1rem;border-left:.4rem solid #888;"
    "background:#f4f4f4}"
)


def write_audit(result: dict, folder: str | Path) -> Path:
    """Write ``audit.json`` and ``report.html`` into `folder`; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "audit.json").write_text(json.dumps(result, indent=2), "utf-8")
    (folder / "report.html").write_text(report_html(result), "utf-8")
    return folder


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _num(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _interval(low, high, fmt=_num) -> str:
    return "–" if low is None or high is None else f"{fmt(low)} to {fmt(high)}"


def _image(fig, alt: str) -> str:
    return f"<img src='{png_data_uri(fig)}' alt='{html.escape(alt)}'>"


def report_html(result: dict) -> str:
    """The audit as one self-contained HTML page a non-programmer can read."""
    verdict = "passed" if result["passed"] else "failed"
    thresholds = result["thresholds"]
    failed = [c for c in result["checks"] if not c["passed"]]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Gender audit: {verdict}</title><style>{_STYLE}</style></head><body><main>",
        f"<h1>Gender audit of the recommender: <span class='{verdict[:4]}'>{verdict}</span></h1>",
        f"<p class='verdict'>{_plain_verdict(result)}</p>",
        f"<p>{result['n_decision_points']:,} decision points of "
        f"{result['persons']['woman']:,} women, {result['persons']['man']:,} men and "
        f"{result['persons']['unknown']:,} persons of unknown gender (reported apart, never "
        "compared). <em>In a similar situation</em> compares women and men as if both lived in "
        "the same regions and stood on the same steps with the same Swedish, health and years "
        "on support. Every interval is "
        f"a {100 * thresholds['level']:.0f}% interval from resampling persons; a check fails "
        "only when its whole interval lies beyond the threshold.</p>",
    ]
    if not result["compared"]:
        parts.append(
            f"<p class='fail'>Fewer than {thresholds['min_group_size']} women or men: the "
            "groups are too small to compare, so the audit cannot pass.</p></main></body></html>"
        )
        return "\n".join(parts)
    parts += [
        f"<h2>Checks that failed ({len(failed)} of {len(result['checks'])})</h2>",
        _checks_table(failed) if failed else "<p>None.</p>",
        "<h2>Who is recommended what</h2>",
        "<p>Each dot is the ratio of women's to men's rate of being recommended an "
        "intervention in a similar situation; 1 is equal. The green band lies within the "
        f"thresholds ({thresholds['similar_rate_ratio']:g} to "
        f"{1 / thresholds['similar_rate_ratio']:.2f}). Grey: what caseworkers did; blue: the "
        "recommender. Where grey lies outside and blue inside, the recommender does not "
        "inherit the caseworkers' gap.</p>",
        _image(rate_ratio_figure(result), "Ratio of women's to men's rates per intervention"),
    ]
    if result["values"]:
        parts += _value_section(result)
    if result["calibration"] is not None:
        parts += _calibration_section(result)
    if result["flip"] is not None:
        parts += _flip_section(result["flip"])
    if result["tradeoff"]:
        parts += _tradeoff_section(result)
    parts += _intersection_section(result)
    for subject, title in (
        ("recommender", "Rates in detail: the recommender"),
        ("behaviour", "Rates in detail: what caseworkers did"),
    ):
        parts += [f"<h2>{html.escape(title)}</h2>", _rates_table(result["figures"][subject])]
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _plain_verdict(result: dict) -> str:
    summary = result["summary"]
    words = [
        f"{summary['checks_failed_recommender']} check(s) on the recommender and "
        f"{summary['checks_failed_behaviour']} on what caseworkers did failed."
    ]
    for source in result["sources"]:
        before = summary.get(f"{source}_progression_gap_behaviour")
        after = summary.get(f"{source}_progression_gap_recommender")
        if before is not None and after is not None:
            words.append(
                f"Women's {source} chance of progressing, minus men's in a similar situation: "
                f"{100 * before:+.1f} points under caseworkers' choices, {100 * after:+.1f} "
                "under the recommender."
            )
    return html.escape(" ".join(words))


def _value_section(result: dict) -> list[str]:
    rows = []
    for r in result["values"]:
        rows.append(
            {
                "source": r["source"],
                "subject": r["subject"],
                "measure": r["measure"],
                "women": _pct(r["similar_woman"]),
                "men": _pct(r["similar_man"]),
                "women - men": _pct(r["similar_gap"]),
                "interval": _interval(r["similar_gap_lower"], r["similar_gap_upper"], _pct),
                "women / men": _num(r["similar_ratio"]),
                "unknown (all situations)": _pct(r["unknown"]),
            }
        )
    return [
        "<h2>What the choices are worth</h2>",
        "<p><em>Progression</em> is the chance of moving up a step in the next episode with the "
        "chosen intervention; <em>benefit</em> is the recommender's choice minus what "
        "caseworkers chose. <em>Estimated</em> values are the model's; <em>true</em> values "
        "come from the simulator and exist only for simulated data.</p>",
        _image(progression_figure(result), "Expected progression of women and men"),
        pd.DataFrame(rows).to_html(index=False),
    ]


def _calibration_section(result: dict) -> list[str]:
    calibration = result["calibration"]
    table = pd.DataFrame(calibration["by_group"])
    low, high = calibration["similar_residual_gap_interval"]
    return [
        "<h2>Are the predictions as good for women as for men?</h2>",
        "<p>Predicted progression of what was done against what happened. Women's "
        "(observed - predicted) minus men's, in a similar situation: "
        f"{_pct(calibration['similar_residual_gap'])} ({_interval(low, high, _pct)}). "
        "<span class='note'>On the data the model was fitted on this flatters it; audit "
        "held-out persons where you can.</span></p>",
        _image(calibration_figure(result), "Calibration curves of women and men"),
        table.to_html(index=False, float_format="%.3f"),
    ]


def _flip_section(flip: dict) -> list[str]:
    if not flip["reads_gender"]:
        return [
            "<h2>Same person, other gender</h2>",
            "<p>The model does not read gender: flipping it changes no recommendation.</p>",
        ]
    rows = "".join(
        f"<tr><td>{g}</td><td>{v['n']:,}</td><td>{_pct(v['changed_share'])}</td>"
        f"<td>{_pct(v['mean_abs_change'])}</td></tr>"
        for g, v in flip["by_gender"].items()
    )
    return [
        "<h2>Same person, other gender</h2>",
        f"<p>With only gender flipped, {_pct(flip['changed_share'])} of recommendations "
        "change.</p><table><tr><th>gender</th><th>decision points</th><th>changed</th>"
        f"<th>mean change of the first option's chance</th></tr>{rows}</table>",
    ]


def _tradeoff_section(result: dict) -> list[str]:
    curve = pd.DataFrame(result["tradeoff"])
    judged = "true" if "true" in result["sources"] else "estimated"
    shown = curve[["strength", "max_gap", "gap", "value", "value_woman", "value_man", "changed"]]
    return [
        "<h2>What closing the gaps would cost</h2>",
        "<p>A post-processor (<code>RateGapCap</code>) can move choices so that no "
        "intervention's women/men gap in a similar situation exceeds a cap, giving up as little "
        f"value as it can. Each point is one strength (0: the model's own choices; 1: as equal "
        f"as whole choices allow); value is the mean {judged} progression probability of the "
        "choices; the gap is the largest 1 - min(ratio, 1/ratio) over interventions.</p>",
        _image(tradeoff_figure(curve), "Value of the choices against the largest gender gap"),
        shown.to_html(index=False, float_format="%.3f"),
    ]


def _intersection_section(result: dict) -> list[str]:
    records = pd.DataFrame(result["intersections"])
    if records.empty:
        return []
    small = records[~records["compared"]]
    compared = records[records["compared"]]
    parts = [
        "<h2>Within age bands and by country of birth</h2>",
        "<p>The same ratios within each group; reported, not judged. Groups with fewer than "
        f"{result['thresholds']['min_group_size']} women or men are not compared.</p>",
    ]
    if not small.empty:
        names = ", ".join(
            f"{a} {lv}" for a, lv in small[["attribute", "level"]].itertuples(index=False)
        )
        parts.append(f"<p>Too small to compare: {html.escape(names)}.</p>")
    if not compared.empty:
        worst = (
            compared.assign(distance=lambda t: np.abs(np.log(t["similar_ratio"].clip(lower=1e-9))))
            .sort_values("distance", ascending=False)
            .head(10)
        )
        shown = worst[
            [
                "subject",
                "attribute",
                "level",
                "intervention",
                "n_recommended",
                "similar_ratio",
                "similar_ratio_lower",
                "similar_ratio_upper",
            ]
        ]
        parts += [
            "<p>The ten ratios farthest from 1:</p>",
            shown.to_html(index=False, float_format="%.2f"),
        ]
    return parts


def _rates_table(records: list[dict]) -> str:
    table = pd.DataFrame(records)
    shown = table[
        [
            "intervention",
            "n_recommended",
            "similar_rate_woman",
            "similar_rate_man",
            "similar_ratio",
            "similar_ratio_lower",
            "similar_ratio_upper",
            "ratio",
        ]
    ].rename(
        columns={
            "n_recommended": "times chosen",
            "similar_rate_woman": "women (similar situation)",
            "similar_rate_man": "men (similar situation)",
            "similar_ratio": "ratio",
            "similar_ratio_lower": "interval from",
            "similar_ratio_upper": "interval to",
            "ratio": "ratio, all situations",
        }
    )
    return shown.to_html(index=False, float_format="%.3f", na_rep="–")


def _number(value) -> str:
    """A figure of the audit; an unbounded or undefined one (None in audit.json) as "–"."""
    return "–" if value is None else f"{value:.3f}"


def _allowed(threshold: list) -> str:
    low, high = threshold
    return f"{low:.3g} or more" if high is None else f"{low:.3g} to {high:.3g}"


def _checks_table(checks: list[dict]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(c['subject'])}</td><td>{html.escape(c['name'])}</td>"
        f"<td>{_number(c['value'])}</td>"
        f"<td>{_number(c['interval'][0])} to {_number(c['interval'][1])}</td>"
        f"<td>{_allowed(c['threshold'])}</td></tr>"
        for c in checks
    )
    return (
        "<table><tr><th>subject</th><th>check</th><th>value</th><th>interval</th>"
        f"<th>allowed</th></tr>{rows}</table>"
    )

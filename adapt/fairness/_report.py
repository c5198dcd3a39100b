"""The audit written out: ``audit.json`` with every figure, ``report.html`` for a reader."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#1a1a1a;line-height:1.5}table{border-collapse:collapse;margin:1rem 0}"
    "td,th{border:1px solid #999;padding:.25rem .5rem;text-align:right}"
    "th:first-child,td:first-child{text-align:left}.fail{color:#a00000;font-weight:bold}"
    ".pass{color:#006400}"
)


def write_audit(result: dict, folder: str | Path) -> Path:
    """Write ``audit.json`` and ``report.html`` into `folder`; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "audit.json").write_text(json.dumps(result, indent=2, default=float), "utf-8")
    (folder / "report.html").write_text(_html(result), "utf-8")
    return folder


def _html(result: dict) -> str:
    verdict = "passed" if result["passed"] else "failed"
    failed = [c for c in result["checks"] if not c["passed"]]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Gender audit: {verdict}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Gender audit of the recommender: <span class='{verdict[:4]}'>{verdict}</span></h1>",
        "<p>Each figure compares how often women and men are recommended an intervention. "
        "<em>In a similar situation</em> compares them as if both groups stood on the same "
        "steps with the same Swedish, health and years on support. A ratio of 1 means equal "
        "rates; a check fails only when the whole interval lies below "
        f"{result['thresholds']['similar_rate_ratio']:g} or above "
        f"{1 / result['thresholds']['similar_rate_ratio']:.2f}.</p>",
        f"<p>{result['n_decision_points']:,} decision points; women "
        f"{result['groups']['woman']:,}, men {result['groups']['man']:,}, unknown "
        f"{result['groups']['unknown']:,} (reported apart, not compared).</p>",
        f"<h2>Checks that failed ({len(failed)})</h2>",
        _checks_table(failed) if failed else "<p>None.</p>",
    ]
    for subject, title in (
        ("recommender", "What the recommender recommends"),
        ("behaviour", "What caseworkers did (the data)"),
    ):
        table = pd.DataFrame(result["figures"][subject])
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
        parts += [f"<h2>{html.escape(title)}</h2>", shown.to_html(index=False, float_format="%.3f")]
    parts.append("</body></html>")
    return "\n".join(parts)


def _checks_table(checks: list[dict]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(c['subject'])}</td><td>{html.escape(c['name'])}</td>"
        f"<td>{c['value']:.3f}</td><td>{c['interval'][0]:.3f} – {c['interval'][1]:.3f}</td></tr>"
        for c in checks
    )
    return (
        "<table><tr><th>subject</th><th>check</th><th>ratio</th><th>interval</th></tr>"
        f"{rows}</table>"
    )

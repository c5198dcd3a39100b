"""The demand written out: ``demand.parquet`` (every region, intervention and month) and a
self-contained ``report.html`` (a region x intervention heatmap and per-region bars, inline
SVG, no network)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from adapt._templates import render_template

BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, PLOT_WIDTH = 14, 10, 330, 420
SYMBOLS = {"need more": "▲", "superfluous": "▼", "": ""}


def write_demand(result, catalogue, folder: str | Path, *, months: int, level: float) -> Path:
    """Write ``demand.parquet`` and ``report.html`` into `folder`; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    result.table.to_parquet(folder / "demand.parquet", index=False)
    html = demand_html(result, catalogue, months=months, level=level)
    (folder / "report.html").write_text(html, "utf-8")
    return folder


def demand_html(result, catalogue, *, months: int, level: float) -> str:
    """The demand as one HTML page a planner at a coordination association can read."""
    totals = result.totals
    shown = [c for c in catalogue.intervention_codes if c in set(totals["intervention"])]
    cells = totals.set_index(["region", "intervention"])
    regions = [r for r in catalogue.region_codes if r in set(totals["region"])]
    heatmap = [
        {
            "name": catalogue.regions[r].name,
            "cells": [_cell(cells, r, c, catalogue) for c in shown],
        }
        for r in regions
    ]
    bars = [_region_bars(totals[totals["region"] == r], r, catalogue) for r in regions]
    marks = totals["mark"].value_counts()
    return render_template(
        "adapt.planning",
        "demand.html",
        months=months,
        level=f"{100 * level:.0f}",
        persons=f"{result.persons:,}",
        rollouts=result.rollouts,
        need_more=int(marks.get("need more", 0)),
        superfluous=int(marks.get("superfluous", 0)),
        interventions=[catalogue.interventions[c].name("en") for c in shown],
        heatmap=heatmap,
        bars=bars,
        plot_width=PLOT_WIDTH,
        label_width=LABEL_WIDTH,
    )


def _cell(cells: pd.DataFrame, region: str, code: str, catalogue) -> dict:
    if (region, code) not in cells.index:
        return {"offered": False}
    row = cells.loc[(region, code)]
    expected, today = row["expected_starts"], row["today_starts"]
    ratio = math.log2((expected + 1) / (today + 1))
    strength = min(abs(ratio) / 2, 1.0)
    # blue for more than today, orange for fewer; the symbol says the same without colour
    hue = 210 if ratio > 0 else 30
    return {
        "offered": True,
        "expected": _number(expected),
        "today": _number(today),
        "mark": row["mark"],
        "symbol": SYMBOLS[row["mark"]],
        "css": {"need more": "more", "superfluous": "fewer", "": ""}[row["mark"]],
        "colour": f"hsl({hue} 70% {100 - 30 * strength:.0f}%)",
        "title": f"{catalogue.interventions[code].name('en')} in "
        f"{catalogue.regions[region].name}: {_number(expected)} planned starts "
        f"({_number(row['lower'])} to {_number(row['upper'])}), {_number(today)} today",
    }


def _region_bars(rows: pd.DataFrame, region: str, catalogue) -> dict:
    top = max(rows[["upper", "today_starts", "expected_starts"]].max().max(), 1.0)
    scale = PLOT_WIDTH / top
    bars = []
    for i, row in enumerate(rows.itertuples()):
        y = i * (2 * BAR_HEIGHT + BAR_GAP)
        expected = row.expected_starts
        # one rollout gives no interval (NaN): the whisker shrinks to the point
        lower = expected if row.lower != row.lower else row.lower
        upper = expected if row.upper != row.upper else row.upper
        bars.append(
            {
                "name": catalogue.interventions[row.intervention].name("en"),
                "y": y,
                "expected_width": round(expected * scale, 1),
                "today_width": round(row.today_starts * scale, 1),
                "lower_x": round(lower * scale, 1),
                "upper_x": round(upper * scale, 1),
                "expected": _number(row.expected_starts),
                "today": _number(row.today_starts),
                "symbol": SYMBOLS[row.mark],
                "mark": row.mark,
            }
        )
    return {
        "code": region,
        "name": catalogue.regions[region].name,
        "bars": bars,
        "height": len(bars) * (2 * BAR_HEIGHT + BAR_GAP),
        "bar_height": BAR_HEIGHT,
    }


def _number(value: float) -> str:
    return "–" if value != value else f"{value:,.0f}" if value >= 10 else f"{value:,.1f}"

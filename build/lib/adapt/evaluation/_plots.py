"""Figures for evaluation results, drawn off-screen (Agg) and written as PNG files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from adapt._figures import save_png
from adapt.evaluation._uplift import CURVE_COLUMNS, QiniResult

_POLICY_COLOUR = "#1f77b4"
_BASELINE_COLOUR = "#b0b0b0"


def plot_qini_curves(curves, path, *, ncols: int = 4) -> Path:
    """Write a grid of IPW gain curves, one small panel per arm, each with its random line.

    Parameters
    ----------
    curves : DataFrame or QiniResult
        ``QiniResult.curves`` from :func:`qini_auuc` (columns arm, fraction, gain, random), or
        the result itself (then each panel's title also shows the Qini coefficient).
    path : str or Path
        PNG file to write; parent folders are created.
    ncols : int
        Panels per row.

    Returns
    -------
    Path
        `path`.
    """
    table = None
    if isinstance(curves, QiniResult):
        table, curves = curves.table, curves.curves
    if not isinstance(curves, pd.DataFrame) or not set(CURVE_COLUMNS) <= set(curves.columns):
        got = list(curves.columns) if isinstance(curves, pd.DataFrame) else type(curves).__name__
        raise ValueError(
            f"curves must be a DataFrame with columns {list(CURVE_COLUMNS)}, got {got}"
        )
    arms = list(dict.fromkeys(curves["arm"]))
    if not arms:
        raise ValueError("curves is empty: no arm had both treated and control rows")
    ncols = max(1, min(ncols, len(arms)))
    nrows = math.ceil(len(arms) / ncols)
    fig = Figure(figsize=(3.0 * ncols, 2.5 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, squeeze=False)).ravel()
    for ax, arm in zip(axes, arms, strict=False):
        c = curves[curves["arm"] == arm]
        ax.plot(c["fraction"], c["gain"], color=_POLICY_COLOUR, lw=1.5, label="model ranking")
        ax.plot(c["fraction"], c["random"], color="grey", ls="--", lw=1, label="random")
        ax.axhline(0, color="black", lw=0.5)
        title = arm.replace("_", " ")
        if table is not None and arm in table.index:
            title += f"\nQini {table.loc[arm, 'qini']:+.4f}"
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[len(arms) :]:
        ax.set_visible(False)
    for ax in axes[max(0, len(arms) - ncols) : len(arms)]:
        ax.tick_params(labelbottom=True)  # the lowest visible panel of each column
    axes[0].legend(fontsize=7, loc="upper left")
    fig.supxlabel("fraction targeted (ranked by predicted uplift)", fontsize=9)
    fig.supylabel("progressions gained per person (IPW)", fontsize=9)
    return save_png(fig, path)


def plot_policy_values(table: pd.DataFrame, path) -> Path:
    """Write a bar chart of policy values with interval whiskers; baselines grey and hatched.

    Parameters
    ----------
    table : DataFrame
        From :func:`compare_policies` (value, value_low, value_high and kind; regret_closure is
        printed on the bars when present).
    path : str or Path
        PNG file to write; parent folders are created.

    Returns
    -------
    Path
        `path`.
    """
    _check_frame(table, "table", ["value", "value_low", "value_high"])
    kind = table["kind"] if "kind" in table else pd.Series("policy", index=table.index)
    baseline = (kind == "baseline").to_numpy()
    value = table["value"].to_numpy(dtype=float)
    low = np.nan_to_num(value - table["value_low"].to_numpy(dtype=float))
    high = np.nan_to_num(table["value_high"].to_numpy(dtype=float) - value)
    x = np.arange(len(table))
    fig = Figure(figsize=(max(5.0, 1.0 * len(table) + 1.5), 4.0), layout="constrained")
    ax = fig.subplots()
    bars = ax.bar(
        x,
        value,
        color=np.where(baseline, _BASELINE_COLOUR, _POLICY_COLOUR),
        edgecolor="black",
        linewidth=0.6,
        yerr=np.vstack([low, high]),
        capsize=4,
        error_kw={"elinewidth": 1},
    )
    for bar, is_base in zip(bars, baseline, strict=True):
        if is_base:
            bar.set_hatch("//")
    if "regret_closure" in table:
        for xi, v, rc in zip(x, value, table["regret_closure"], strict=True):
            if np.isfinite(rc):
                ax.annotate(
                    f"{rc:.0%}",
                    (xi, v),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    color="dimgrey",
                )
    ax.set_xticks(x, [str(i).replace("_", " ") for i in table.index], rotation=30, ha="right")
    ax.set_ylabel("policy value (mean true P(progress))")
    ax.set_ylim(0, min(1.0, float(np.nanmax(value + high)) * 1.15 + 0.02))
    ax.grid(axis="y", alpha=0.3)
    handles = [
        Patch(facecolor=_POLICY_COLOUR, edgecolor="black", label="policy"),
        Patch(facecolor=_BASELINE_COLOUR, hatch="//", edgecolor="black", label="baseline"),
    ]
    ax.legend(handles=handles, fontsize=8, loc="upper left")
    ax.set_title("Policy values with bootstrap intervals (labels: regret closed)", fontsize=10)
    return save_png(fig, path)


_PLAN_LINES = (
    ("v_behaviour", "behaviour (caseworkers)", _BASELINE_COLOUR, "s", "--"),
    ("v_plans", "the learner's plans", _POLICY_COLOUR, "o", "-"),
    ("v_best_plan", "best plan (truth)", "black", "^", ":"),
)


def plot_plan_values(report: pd.DataFrame, path) -> Path:
    """Write the value of k-step plans against the horizon k: behaviour, plans and best plan.

    Parameters
    ----------
    report : DataFrame
        From :func:`planning_report` (k, v_behaviour, v_plans, v_best_plan; plan_gain_closure
        is printed beside the plans' points when present).
    path : str or Path
        PNG file to write; parent folders are created.

    Returns
    -------
    Path
        `path`.
    """
    _check_frame(report, "report", ["k"] + [column for column, *_ in _PLAN_LINES])
    report = report.sort_values("k")
    k = report["k"].to_numpy()
    fig = Figure(figsize=(5.5, 4.0), layout="constrained")
    ax = fig.subplots()
    for column, label, colour, marker, style in _PLAN_LINES:
        ax.plot(k, report[column], color=colour, marker=marker, ls=style, lw=1.5, label=label)
    if "plan_gain_closure" in report:
        for ki, v, closure in zip(k, report["v_plans"], report["plan_gain_closure"], strict=True):
            if np.isfinite(closure):
                ax.annotate(
                    f"{closure:.0%}",
                    (ki, v),
                    xytext=(6, -10),
                    textcoords="offset points",
                    fontsize=7,
                    color="dimgrey",
                )
    ax.set_xticks(k)
    ax.set_xlim(k.min() - 0.3, k.max() + 0.5)  # room for the last label
    ax.set_xlabel("horizon k (episodes planned)")
    ax.set_ylabel("expected steps gained (truth)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("Plan values by horizon (labels: plan-gain closure)", fontsize=10)
    return save_png(fig, path)


def _check_frame(frame, name: str, needed: list[str]) -> None:
    if not isinstance(frame, pd.DataFrame) or not set(needed) <= set(frame.columns):
        got = list(frame.columns) if isinstance(frame, pd.DataFrame) else type(frame).__name__
        raise ValueError(f"{name} must be a DataFrame with columns {needed}, got {got}")
    if frame.empty:
        raise ValueError(f"{name} is empty: nothing to plot")

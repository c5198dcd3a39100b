"""The trade-off curve drawn: value against gap, labelled by strength, the cap marked."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from adapt._figures import save_png


def plot_tradeoff(curve: pd.DataFrame, path) -> Path:
    """Write a PNG of `tradeoff_figure`."""
    return save_png(tradeoff_figure(curve), path)


def tradeoff_figure(curve: pd.DataFrame) -> Figure:
    """`tradeoff_curve`'s value (y) against gap (x), each point labelled with its strength,
    and the cap (the ``at_cap`` row) drawn as a dashed line through its point."""
    missing = [c for c in ("strength", "max_gap", "at_cap", "gap", "value") if c not in curve]
    if missing:
        raise ValueError(f"curve lacks the column(s) {missing}; expected tradeoff_curve's table")
    fig = Figure(figsize=(7, 4.5), layout="tight")
    axis = fig.subplots()
    axis.plot(curve["gap"], curve["value"], marker="o", color="tab:blue", label="strength swept")
    for row in curve[~curve["at_cap"]].itertuples(index=False):
        axis.annotate(
            f"{row.strength:.2g}",
            (row.gap, row.value),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=7,
        )
    for row in curve[curve["at_cap"]].itertuples(index=False):
        axis.axvline(row.max_gap, color="tab:red", linestyle="--", label=f"cap {row.max_gap:g}")
        axis.scatter(
            [row.gap],
            [row.value],
            s=160,
            facecolors="none",
            edgecolors="tab:red",
            label=f"choices under the cap (gap {row.gap:.2f})",
        )
    axis.set(
        title="value of the choices against the gender gap (labels: strength)",
        xlabel="largest similar-situation rate gap, 1 - min(ratio, 1/ratio)",
        ylabel="mean progression probability",
    )
    axis.legend(fontsize=8)
    return fig

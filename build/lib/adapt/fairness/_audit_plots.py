"""The audit's pictures, as figures for the report."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

SUBJECT_COLOURS = {"behaviour": "#7a7a7a", "recommender": "#1f5fa8"}
GENDER_COLOURS = {"woman": "#b2182b", "man": "#2166ac"}


def rate_ratio_figure(result: dict) -> Figure:
    """Women-to-men ratio of each intervention's rate in a similar situation, with intervals,
    for behaviour and the recommender; the band between the thresholds shaded."""
    bound = result["thresholds"]["similar_rate_ratio"]
    tables = {s: pd.DataFrame(t) for s, t in result["figures"].items()}
    names = tables["recommender"]["intervention"].tolist()
    fig = Figure(figsize=(8, 0.38 * len(names) + 1.2), layout="constrained")
    axis = fig.subplots()
    axis.axvspan(bound, 1 / bound, color="#e8f0e0", label="within the thresholds")
    axis.axvline(1, color="#555", lw=0.8)
    y = np.arange(len(names))
    offsets = (-0.17, 0.17) if len(tables) == 2 else (0.0,)
    for offset, (subject, table) in zip(offsets, tables.items(), strict=True):
        shown = table["n_recommended"] >= result["thresholds"]["min_recommended"]
        t = table[shown]
        rows = y[shown.to_numpy()] + offset
        errors = [
            t["similar_ratio"] - t["similar_ratio_lower"],
            t["similar_ratio_upper"] - t["similar_ratio"],
        ]
        axis.errorbar(
            t["similar_ratio"],
            rows,
            xerr=np.abs(np.asarray(errors, dtype=float)),
            fmt="o",
            ms=4,
            color=SUBJECT_COLOURS[subject],
            label=subject,
        )
    axis.set_yticks(y, [n.replace("_", " ") for n in names])
    axis.invert_yaxis()
    axis.set_xscale("log")
    axis.set_xlabel("women's rate / men's rate, in a similar situation (log scale)")
    axis.legend(loc="lower right", fontsize=8)
    return fig


def progression_figure(result: dict) -> Figure:
    """Expected progression of women and men in a similar situation under behaviour and under
    the recommender, per source (estimated, true), with intervals."""
    records = [r for r in result["values"] if r["measure"] == "progression"]
    sources = result["sources"]
    fig = Figure(figsize=(4 * len(sources) + 1, 3.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(sources), sharey=True))
    for axis, source in zip(axes, sources, strict=True):
        x = np.arange(2)
        for j, gender in enumerate(("woman", "man")):
            rows = [
                next(r for r in records if (r["source"], r["subject"]) == (source, s))
                for s in ("behaviour", "recommender")
            ]
            means = [r[f"similar_{gender}"] for r in rows]
            errors = [
                [r[f"similar_{gender}"] - r[f"similar_{gender}_lower"] for r in rows],
                [r[f"similar_{gender}_upper"] - r[f"similar_{gender}"] for r in rows],
            ]
            axis.bar(
                x + (j - 0.5) * 0.38,
                means,
                0.38,
                yerr=errors,
                capsize=3,
                color=GENDER_COLOURS[gender],
                label=gender,
            )
        axis.set_xticks(x, ["caseworkers (behaviour)", "recommender"])
        axis.set_title(f"{source} progression probability", fontsize=10)
    axes[0].set_ylabel("next-episode progression, similar situation")
    axes[0].legend(fontsize=8)
    return fig


def calibration_figure(result: dict) -> Figure:
    """Observed progression against predicted, per bin of the prediction, for women and men."""
    curve = pd.DataFrame(result["calibration"]["curve"])
    fig = Figure(figsize=(4.2, 4), layout="constrained")
    axis = fig.subplots()
    top = float(max(curve["predicted"].max(), curve["observed"].max())) * 1.05
    axis.plot([0, top], [0, top], color="#999", lw=0.8, label="perfect")
    for gender, part in curve.groupby("gender"):
        axis.plot(
            part["predicted"],
            part["observed"],
            "o-",
            ms=4,
            color=GENDER_COLOURS[gender],
            label=gender,
        )
    axis.set(xlabel="predicted progression", ylabel="observed progression")
    axis.legend(fontsize=8)
    return fig

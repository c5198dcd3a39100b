"""A picture of a fairness audit: value and recommended families side by side per group."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from adapt._figures import save_png
from adapt.fairness._audit import FairnessAudit


def plot_audit(audit: FairnessAudit, path) -> Path:
    """Write a PNG: progression value per group (left) and the families recommended (right)."""
    table = audit.by_group
    values = table[[c for c in ("value", "usual_value") if c in table]]
    shares = table[[c for c in table if c.startswith("share_")]]
    shares = shares.rename(columns=lambda c: c.removeprefix("share_").replace("_", " "))
    fig = Figure(figsize=(11, 4), layout="tight")
    left, right = fig.subplots(1, 2, width_ratios=[1, 2])
    values.plot.bar(ax=left, rot=0)
    left.set(title="progression probability", xlabel="")
    shares.T.plot.bar(ax=right, rot=30)
    right.set(title="share of recommendations by family", xlabel="")
    for axis in (left, right):
        axis.legend(fontsize=8)
    return save_png(fig, path)

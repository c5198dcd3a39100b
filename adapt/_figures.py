"""Figures drawn off-screen without pyplot's global state, written as PNG files."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def save_png(fig: Figure, path, dpi: int = 110) -> Path:
    """Write `fig` to `path` (parent folders created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=dpi)
    return path

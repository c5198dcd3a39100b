"""Markdown pipe tables for the benchmarks' printed results."""

from __future__ import annotations

import pandas as pd


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table: text left, numbers right; floats with three decimals, ints as they are,
    missing values as "-"."""
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame]
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |"]
    lines.append("|" + "".join("---:|" if n else ":---|" for n in numeric))
    for values in frame.itertuples(index=False):
        cells = [
            "-"
            if v is None or (isinstance(v, float) and v != v)
            else f"{v:.3f}"
            if isinstance(v, float)
            else str(v)
            for v in values
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

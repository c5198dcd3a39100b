"""The one rule for the best intervention: highest estimate, ties to the catalogue's first."""

from __future__ import annotations

import numpy as np


def best_arms(p: np.ndarray) -> np.ndarray:
    """Per row of `p` (rows, arms; NaN where not offered), the index of the offered arm with the
    highest estimate; ties go to the arm listed first, so choices are deterministic."""
    p = np.asarray(p, dtype=float)
    return np.where(np.isnan(p), -np.inf, p).argmax(axis=1)


def ranked_arms(p_row: np.ndarray) -> np.ndarray:
    """The offered arms of one row, best first by the rule of `best_arms`."""
    p_row = np.asarray(p_row, dtype=float)
    offered = np.flatnonzero(~np.isnan(p_row))
    return offered[np.lexsort((offered, -p_row[offered]))]

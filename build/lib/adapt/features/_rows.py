"""Pairs of one person's rows in an episodes table sorted by person and episode."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd


def earlier_rows(ep: pd.DataFrame) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (row, earlier) index arrays: each row with the person's row `lag` places before it,
    for lag = 1, 2, ... until no person has that many rows."""
    person = ep["person_id"].to_numpy()
    for lag in range(1, len(ep)):
        row = np.arange(lag, len(ep))
        earlier = row - lag
        same = person[earlier] == person[row]
        if not same.any():
            return
        yield row[same], earlier[same]

"""The ground truth as a matrix: one row per decision point, one column per intervention."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from adapt.evaluation._validate import resolve_interventions, show_rows, show_values

KEYS = ("person_id", "episode_no")


def _require_columns(table: pd.DataFrame, columns, name: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"{name} must be a DataFrame, got {type(table).__name__}")
    lacking = [c for c in columns if c not in table.columns]
    if lacking:
        raise ValueError(
            f"{name} must have columns {list(columns)}; missing {lacking}, "
            f"has {list(table.columns)}"
        )


def decision_index(decisions: pd.DataFrame, name: str = "decisions") -> pd.MultiIndex:
    """The (person_id, episode_no) index of `decisions`; duplicates raise."""
    _require_columns(decisions, KEYS, name)
    index = pd.MultiIndex.from_arrays(
        [decisions["person_id"].astype(str).to_numpy(), decisions["episode_no"].astype(np.int64)],
        names=list(KEYS),
    )
    dup = index.duplicated()
    if dup.any():
        raise ValueError(
            f"{name} must list each (person_id, episode_no) once; repeated on {show_rows(dup)}"
        )
    return index


def truth_matrix(
    truth: pd.DataFrame,
    decisions: pd.DataFrame,
    interventions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """True progression probabilities as a decision-point x intervention matrix.

    Parameters
    ----------
    truth : DataFrame
        Long table with columns person_id, episode_no, intervention, p_progress (as returned by
        ``simulate``); may hold more decision points than `decisions`.
    decisions : DataFrame
        Decision points (person_id, episode_no), e.g. the episodes table; the result keeps its
        order.
    interventions : sequence of str, optional
        Column order; the catalogue's intervention codes by default.

    Returns
    -------
    DataFrame
        One row per row of `decisions`, indexed by (person_id, episode_no), one column per
        intervention, NaN where the intervention was not available.

    Raises
    ------
    ValueError
        If a decision point has no truth, the truth names unknown interventions or repeats an
        entry, or probabilities fall outside [0, 1].
    """
    codes = resolve_interventions(interventions)
    _require_columns(truth, (*KEYS, "intervention", "p_progress"), "truth")
    index = decision_index(decisions)
    keys = pd.MultiIndex.from_arrays(
        [truth["person_id"].astype(str).to_numpy(), truth["episode_no"].astype(np.int64)]
    )
    row = index.get_indexer(keys)
    col = pd.Index(codes).get_indexer(truth["intervention"].astype(str).to_numpy())
    unknown = col < 0
    if unknown.any():
        bad = truth["intervention"].to_numpy()[unknown]
        raise ValueError(
            f"truth has unknown intervention codes {show_values(bad)} on {show_rows(unknown)}; "
            f"expected one of {list(codes)}"
        )
    p = truth["p_progress"].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(p) | (p < 0) | (p > 1)
    if bad.any():
        raise ValueError(
            f"truth.p_progress must be finite and in [0, 1], not so on {show_rows(bad)}"
        )
    keep = row >= 0
    row, col, p = row[keep], col[keep], p[keep]
    flat = row * len(codes) + col
    if len(np.unique(flat)) != len(flat):
        raise ValueError(
            "truth must give each (person_id, episode_no, intervention) once; some are repeated"
        )
    values = np.full((len(index), len(codes)), np.nan)
    values[row, col] = p
    missing = np.isnan(values).all(axis=1)
    if missing.any():
        first = [f"({pid!r}, {ep})" for pid, ep in index[missing][:3]]
        raise ValueError(
            f"truth has no probabilities for {missing.sum()} of {len(index)} decision points "
            f"(decisions {show_rows(missing)}, e.g. {', '.join(first)}); expected every decision "
            "point to be in the truth table"
        )
    return pd.DataFrame(values, index=index, columns=list(codes))

"""Input checks shared by the evaluation functions: one clear ValueError per problem."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

MAX_SHOWN = 5  # rows or values quoted in a message


def show_rows(positions) -> str:
    """`3 rows (0, 4, 9)`: how many rows and the first few 0-based positions."""
    positions = np.flatnonzero(positions) if _is_mask(positions) else np.asarray(positions)
    shown = ", ".join(str(int(p)) for p in positions[:MAX_SHOWN])
    more = ", …" if len(positions) > MAX_SHOWN else ""
    noun = "row" if len(positions) == 1 else "rows"
    return f"{len(positions)} {noun} ({shown}{more})"


def show_values(values) -> str:
    distinct = list(dict.fromkeys(values))
    text = ", ".join(
        repr(v.item() if isinstance(v, np.generic) else v) for v in distinct[:MAX_SHOWN]
    )
    return text + (", …" if len(distinct) > MAX_SHOWN else "")


def _is_mask(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype == bool


def default_interventions() -> tuple[str, ...]:
    from adapt.catalogue import load_catalogue

    return load_catalogue().intervention_codes


def resolve_interventions(interventions, *matrices) -> tuple[str, ...]:
    """`interventions` if given, else the columns of the first DataFrame, else the catalogue's."""
    if interventions is not None:
        codes = tuple(str(c) for c in interventions)
    else:
        frames = [m for m in matrices if isinstance(m, pd.DataFrame)]
        codes = tuple(str(c) for c in frames[0].columns) if frames else default_interventions()
    if len(codes) == 0:
        raise ValueError("expected at least one intervention code, got none")
    if len(set(codes)) != len(codes):
        dup = [c for c in codes if codes.count(c) > 1]
        raise ValueError(f"intervention codes must be unique, got duplicates {show_values(dup)}")
    return codes


def vector(values, name: str, n: int | None = None) -> np.ndarray:
    """A 1-d array of `values`, of length `n` when given."""
    arr = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if n is not None and len(arr) != n:
        raise ValueError(f"{name} has {len(arr)} rows, expected {n} (one per decision point)")
    return arr


def code_index(codes, interventions: Sequence[str], name: str, n: int | None = None) -> np.ndarray:
    """Column positions of intervention `codes`; unknown codes raise, naming them."""
    arr = vector(codes, name, n)
    missing = pd.isna(arr)
    if missing.any():
        raise ValueError(
            f"{name} must name an intervention on every row, missing on {show_rows(missing)}"
        )
    idx = pd.Index(interventions).get_indexer(arr.astype(str))
    unknown = idx < 0
    if unknown.any():
        raise ValueError(
            f"{name} has unknown intervention codes {show_values(arr[unknown])} on "
            f"{show_rows(unknown)}; expected one of {list(interventions)}"
        )
    return idx


def matrix(values, name: str, n: int, interventions: Sequence[str]) -> np.ndarray:
    """An (n, A) float array; a DataFrame must have the interventions as its columns."""
    a = len(interventions)
    if isinstance(values, pd.DataFrame):
        cols = [str(c) for c in values.columns]
        if set(cols) != set(interventions):
            extra = sorted(set(cols) - set(interventions))
            lacking = sorted(set(interventions) - set(cols))
            raise ValueError(
                f"{name} must have one column per intervention; unknown columns {extra}, "
                f"missing columns {lacking}"
            )
        values = values[list(interventions)]
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n, a):
        raise ValueError(
            f"{name} has shape {arr.shape}, expected ({n}, {a}): one row per decision point and "
            f"one column per intervention {list(interventions)}"
        )
    return arr


def propensity_matrix(values, n: int, interventions: Sequence[str], name="propensity"):
    """Behaviour propensities: finite, in [0, 1], rows summing to 1; 0 means not available."""
    e = matrix(values, name, n, interventions)
    bad = ~np.isfinite(e).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{name} has NaN or infinite values on {show_rows(bad)}; expected a probability for "
            "every intervention, 0 where it is not available"
        )
    bad = ((e < 0) | (e > 1)).any(axis=1)
    if bad.any():
        raise ValueError(f"{name} must lie in [0, 1], it does not on {show_rows(bad)}")
    bad = np.abs(e.sum(axis=1) - 1) > 1e-6
    if bad.any():
        raise ValueError(
            f"{name} rows must sum to 1 over the available interventions; they do not on "
            f"{show_rows(bad)} (sums {show_values(np.round(e.sum(axis=1)[bad], 6))})"
        )
    return e


def unit_interval(values, name: str, n: int) -> np.ndarray:
    arr = vector(values, name, n)
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers in [0, 1], got dtype {arr.dtype}") from None
    bad = ~np.isfinite(arr) | (arr < 0) | (arr > 1)
    if bad.any():
        raise ValueError(
            f"{name} must be finite and in [0, 1] (0/1 for progressed or not), got "
            f"{show_values(arr[bad])} on {show_rows(bad)}"
        )
    return arr


def group_codes(groups, n: int) -> tuple[np.ndarray, int]:
    """Integer cluster codes 0..G-1 for `groups`; None makes every row its own cluster."""
    if groups is None:
        return np.arange(n), n
    arr = vector(groups, "groups", n)
    missing = pd.isna(arr)
    if missing.any():
        raise ValueError(f"groups must be set on every row, missing on {show_rows(missing)}")
    codes, uniques = pd.factorize(arr)
    return codes.astype(np.int64), len(uniques)


def check_bootstrap(n_bootstrap: int, alpha: float) -> None:
    if not isinstance(n_bootstrap, int | np.integer) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be an integer >= 0, got {n_bootstrap!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")


def check_clip(clip) -> None:
    if clip is not None and not 0 < clip < 0.5:
        raise ValueError(f"clip must be None or a number in (0, 0.5), got {clip!r}")

"""The problem `RateGapCap` solves, read from its inputs: the estimates (-inf where not
offered, nudged to split exact ties), gender codes, each row's weight in its group's
similar-situation rate, and the rates and gaps of a set of choices."""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.fairness._parity import stratum_mix

LABELS = ("woman", "man", "unknown")
_TIE_BREAK = 1e-8  # size of the deterministic nudges that split exactly tied estimates
_ROUNDING = 1e-12  # equal rates computed two ways differ by float noise, not a gap


class _Problem:
    """The estimates with -inf where not offered (`scores`, and `nudged` with the tie-splitting
    nudges), gender codes (0 woman, 1 man, 2 unknown), each row's weight in its group's
    similar-situation rate, and the exemption count."""

    def __init__(self, values, group, weight, min_recommended):
        self.scores = np.where(np.isnan(values), -np.inf, values)
        self.nudged = _nudged(values, group)
        self.group, self.weight, self.min_recommended = group, weight, min_recommended
        self.rows = np.arange(len(values))
        # as the audit counts: women's and men's rows in strata holding both
        self.comparable = (group < 2) & (weight > 0)
        # per arm and group: the rows that count in the group's rate and are offered the arm
        counted = [(group == g) & (weight > 0) for g in (0, 1)]
        offered = ~np.isnan(values)
        self.counted = [
            [np.flatnonzero(c & offered[:, arm]) for c in counted] for arm in range(self.n_arms)
        ]

    @property
    def n_arms(self) -> int:
        return self.scores.shape[1]

    def greedy(self) -> np.ndarray:
        return self.scores.argmax(axis=1)

    def value(self, chosen) -> float:
        return float(self.scores[self.rows, chosen].mean())

    def rates(self, chosen) -> tuple[np.ndarray, np.ndarray]:
        """(2, arms) similar-situation rates of women and men, and per arm the count of
        recommendations they rest on (the audit's ``n_comparable``)."""
        k = self.n_arms
        cells = np.bincount(self.group * k + chosen, weights=self.weight, minlength=3 * k)
        return cells[: 2 * k].reshape(2, k), np.bincount(chosen[self.comparable], minlength=k)

    def gaps(self, chosen) -> tuple[np.ndarray, np.ndarray]:
        """Per arm: the gap (0 where neither group is recommended it) and the count."""
        rates, counts = self.rates(chosen)
        return np.nan_to_num(_gaps(rates[0], rates[1]), nan=0.0), counts

    def largest_gap(self, chosen) -> float:
        gaps, counts = self.gaps(chosen)
        judged = counts >= self.min_recommended
        return float(gaps[judged].max()) if judged.any() else 0.0

    def choices(self, offsets) -> np.ndarray:
        if not offsets.any():
            return self.greedy()
        return (self.nudged + offsets[self.group]).argmax(axis=1)


def _choose(values, group, offsets) -> np.ndarray:
    """argmax of estimate plus offset over offered interventions; without any offset exactly
    `choose_best` (ties to the first listed), else with the tie-splitting nudges."""
    if not offsets.any():
        return np.where(np.isnan(values), -np.inf, values).argmax(axis=1)
    return (_nudged(values, group) + offsets[group]).argmax(axis=1)


def _nudged(values, group) -> np.ndarray:
    """The estimates, -inf where not offered, each nudged by at most `_TIE_BREAK` for women and
    men so that exact ties split; rows of unknown gender are left as they are, so keep
    `choose_best`'s tie rule."""
    scores = np.where(np.isnan(values), -np.inf, values)
    known = group < 2
    scores[known] += _TIE_BREAK * _tie_breaks(values[known])
    return scores


def _gaps(rate_w, rate_m) -> np.ndarray:
    high, low = np.maximum(rate_w, rate_m), np.minimum(rate_w, rate_m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(high > 0, 1 - low / high, np.nan)


def _tie_breaks(values) -> np.ndarray:
    """A number in [0, 1) per estimate, hashed (splitmix64) from its bits and its column."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    column = np.arange(values.shape[1], dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    h = bits ^ column
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return (h >> np.uint64(11)).astype(np.float64) / 2.0**53


def _weights(strata: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Each row's weight in its group's similar-situation rate, as `rate_parity` standardises:
    the stratum's share of the common mix (`stratum_mix`) over the group's count in it; 0 for
    gender unknown and strata holding one group only."""
    n_strata = int(strata.max()) + 1 if len(strata) else 0
    counts = np.bincount(strata * 3 + group, minlength=3 * n_strata).reshape(n_strata, 3)[:, :2]
    both = (counts > 0).all(axis=1)
    if not both.any():
        raise ValueError("gender, strata: no situation stratum holds both women and men")
    mix = stratum_mix(counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(both[:, None], mix[:, None] / counts, 0.0)
    weight = np.zeros(len(group))
    known = group < 2
    weight[known] = per[strata[known], group[known]]
    return weight


def _estimates(p) -> tuple[list[str], np.ndarray]:
    if not isinstance(p, pd.DataFrame):
        raise ValueError(f"p must be a DataFrame of p_<intervention> columns, got {type(p)}")
    columns = [c for c in p.columns if isinstance(c, str) and c.startswith("p_")]
    if not columns:
        raise ValueError(f"p has no p_<intervention> columns; has {list(p.columns)[:8]}")
    values = p[columns].to_numpy(dtype=np.float64)
    if np.isinf(values).any():
        raise ValueError("p must hold probabilities or NaN (not offered), not infinities")
    offered = ~np.isnan(values)
    if not offered.any(axis=1).all():
        rows = np.flatnonzero(~offered.any(axis=1))[:10].tolist()
        raise ValueError(f"p: no intervention is offered in rows {rows}")
    return [c.removeprefix("p_") for c in columns], values


def _groups(gender, n: int) -> np.ndarray:
    gender = pd.Series(np.asarray(gender, dtype=object))
    if len(gender) != n:
        raise ValueError(f"gender has {len(gender)} values but p has {n} rows")
    unknown = ~gender.isin(LABELS)
    if unknown.any():
        bad = sorted({str(v) for v in gender[unknown]})[:5]
        raise ValueError(f"gender must be one of {list(LABELS)}; got {bad}")
    return gender.map({label: i for i, label in enumerate(LABELS)}).to_numpy(np.int64)


def _strata(strata, n: int) -> np.ndarray:
    strata = np.asarray(strata)
    if strata.ndim != 1 or len(strata) != n:
        raise ValueError(f"strata has {len(strata)} values but p has {n} rows")
    if n and (not np.issubdtype(strata.dtype, np.integer) or strata.min() < 0):
        raise ValueError("strata must be non-negative integer codes (see situation_strata)")
    return strata.astype(np.int64)


def _values(values, codes: list[str], n: int) -> np.ndarray:
    if isinstance(values, pd.DataFrame):
        names = [str(c).removeprefix("p_") for c in values.columns]
        lacking = [c for c in codes if c not in names]
        if lacking:
            raise ValueError(f"values lacks the interventions {lacking[:5]}")
        table = values.set_axis(names, axis=1)[codes].to_numpy(np.float64)
    else:
        table = np.asarray(values, dtype=np.float64)
        if table.ndim != 2 or table.shape[1] != len(codes):
            raise ValueError(f"values must have one column per intervention ({len(codes)})")
    if len(table) != n:
        raise ValueError(f"values has {len(table)} rows but p has {n}")
    return table

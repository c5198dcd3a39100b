"""Policy values against the ground truth, baselines and the regret closed by a policy."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from adapt._bootstrap import bootstrap_ratios, percentile_interval
from adapt.evaluation._validate import check_bootstrap, code_index, group_codes, show_rows

BASELINES = ("random", "behaviour", "best_single", "oracle")


def _truth_values(truth_matrix: pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...]]:
    if not isinstance(truth_matrix, pd.DataFrame):
        raise ValueError(
            "truth_matrix must be a DataFrame (from truth_matrix()), "
            f"got {type(truth_matrix).__name__}"
        )
    values = truth_matrix.to_numpy(dtype=np.float64)
    empty = np.isnan(values).all(axis=1)
    if empty.any():
        raise ValueError(f"truth_matrix has no available intervention on {show_rows(empty)}")
    return values, tuple(str(c) for c in truth_matrix.columns)


def _chosen(choices, values: np.ndarray, codes, name: str) -> np.ndarray:
    """Column positions of `choices`, which must be available (not NaN) on every row."""
    idx = code_index(choices, codes, name, len(values))
    unavailable = np.isnan(values[np.arange(len(values)), idx])
    if unavailable.any():
        rows = np.flatnonzero(unavailable)
        pairs = ", ".join(f"{r}: {codes[idx[r]]!r}" for r in rows[:5])
        raise ValueError(
            f"{name} chooses interventions that are not available on {show_rows(unavailable)} "
            f"({pairs}); expected a choice with a truth value on every row"
        )
    return idx


def policy_value(choices, truth_matrix: pd.DataFrame) -> float:
    """Mean true progression probability of the chosen interventions.

    Parameters
    ----------
    choices : array-like of str
        One intervention code per row of `truth_matrix` (by position).
    truth_matrix : DataFrame
        From :func:`truth_matrix`.

    Returns
    -------
    float
        The policy's value: the expected share of decision points that progress.
    """
    values, codes = _truth_values(truth_matrix)
    idx = _chosen(choices, values, codes, "choices")
    return float(values[np.arange(len(values)), idx].mean())


def random_policy_value(truth_matrix: pd.DataFrame) -> float:
    """Exact value of choosing uniformly among the available interventions at every row."""
    values, _ = _truth_values(truth_matrix)
    return float(np.nanmean(values, axis=1).mean())


def regret_closure(value, behaviour_value, oracle_value):
    """Share of the gap from behaviour to oracle that a policy closes.

    ``(value - behaviour_value) / (oracle_value - behaviour_value)``: 0 for the behaviour policy,
    1 for the oracle, negative when worse than behaviour. NaN where oracle equals behaviour.
    Works on scalars and arrays alike.
    """
    v, b, o = (np.asarray(x, dtype=np.float64) for x in (value, behaviour_value, oracle_value))
    gap = o - b
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(gap != 0, (v - b) / np.where(gap != 0, gap, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def _best_single_order(values: np.ndarray) -> np.ndarray:
    """Intervention positions by mean true p where available, best first, stable on ties."""
    with np.errstate(invalid="ignore"):
        sums = np.nansum(values, axis=0)
        counts = (~np.isnan(values)).sum(axis=0)
        means = np.where(counts > 0, sums / np.maximum(counts, 1), -np.inf)
    return np.argsort(-means, kind="stable")


def baseline_choices(truth_matrix: pd.DataFrame, observed, seed: int = 0) -> dict[str, np.ndarray]:
    """The four reference policies as intervention codes per row.

    Parameters
    ----------
    truth_matrix : DataFrame
        From :func:`truth_matrix`.
    observed : array-like of str
        The interventions the caseworkers chose, one per row.
    seed : int
        Seed of the one sampled `random` choice per row.

    Returns
    -------
    dict of str to ndarray
        ``random``: uniform among available (a sample; use :func:`random_policy_value` for its
        exact value); ``behaviour``: `observed`; ``best_single``: the intervention with the
        highest mean true p over the rows where it is available, falling back row by row to
        the next best available one; ``oracle``: the row-wise argmax of the truth, ties to the
        first in column (catalogue) order.
    """
    values, codes = _truth_values(truth_matrix)
    labels = np.asarray(codes, dtype=object)
    behaviour = _chosen(observed, values, codes, "observed")
    available = ~np.isnan(values)

    rng = np.random.default_rng(seed)
    keys = np.where(available, rng.random(values.shape), -1.0)
    random = keys.argmax(axis=1)

    order = _best_single_order(values)
    best = order[available[:, order].argmax(axis=1)]

    oracle = np.where(available, values, -np.inf).argmax(axis=1)
    choices = {"random": random, "behaviour": behaviour, "best_single": best, "oracle": oracle}
    return {name: labels[idx] for name, idx in choices.items()}


def compare_policies(
    policies: Mapping[str, object],
    truth_matrix: pd.DataFrame,
    observed,
    groups=None,
    n_bootstrap: int = 200,
    alpha: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """Value and regret closure of named policies and the baselines, with bootstrap intervals.

    Parameters
    ----------
    policies : mapping of str to array-like of str
        Policy name to one chosen intervention per row of `truth_matrix`; names must differ from
        the baselines' (random, behaviour, best_single, oracle).
    truth_matrix : DataFrame
        From :func:`truth_matrix`.
    observed : array-like of str
        The observed (behaviour) choices.
    groups : array-like, optional
        Cluster labels for the bootstrap; by default the ``person_id`` level of the truth
        matrix's index, or every row its own cluster when there is none.
    n_bootstrap : int
        Cluster-bootstrap replicates (0 for no intervals). All policies share the replicates, so
        regret closure intervals account for the pairing.
    alpha : float
        1 - coverage of the percentile intervals.
    seed : int
        Seed for the bootstrap and the sampled random choices.

    Returns
    -------
    DataFrame
        Indexed by policy (random, behaviour, best_single, the given policies, oracle), with
        columns ``kind`` ('baseline' or 'policy'), ``value``, ``value_low``, ``value_high``,
        ``regret_closure``, ``regret_closure_low``, ``regret_closure_high``. The random
        baseline's value is exact (the mean over available interventions), not sampled.
    """
    values, codes = _truth_values(truth_matrix)
    check_bootstrap(n_bootstrap, alpha)
    if not isinstance(policies, Mapping):
        raise ValueError(
            f"policies must be a mapping of name to choices, got {type(policies).__name__}"
        )
    clash = [name for name in policies if name in BASELINES]
    if clash:
        raise ValueError(f"policy names {clash} are taken by the baselines {list(BASELINES)}")
    n = len(values)
    if groups is None and "person_id" in (truth_matrix.index.names or []):
        groups = truth_matrix.index.get_level_values("person_id")
    gcodes, n_groups = group_codes(groups, n)

    base = baseline_choices(truth_matrix, observed, seed)
    rows = np.arange(n)
    per_row = {"random": np.nanmean(values, axis=1)}
    for name in ("behaviour", "best_single"):
        per_row[name] = values[rows, code_index(base[name], codes, name)]
    for name, choices in policies.items():
        per_row[str(name)] = values[rows, _chosen(choices, values, codes, f"policy {name!r}")]
    per_row["oracle"] = values[rows, code_index(base["oracle"], codes, "oracle")]

    names = list(per_row)
    stacked = np.column_stack([per_row[k] for k in names])
    point = stacked.mean(axis=0)
    reps = bootstrap_ratios(stacked, np.ones(n), gcodes, n_groups, n_bootstrap, seed)
    v_low, v_high = percentile_interval(reps, alpha)
    ib, io = names.index("behaviour"), names.index("oracle")
    rc = regret_closure(point, point[ib], point[io])
    rc_reps = regret_closure(reps, reps[:, [ib]], reps[:, [io]]).reshape(reps.shape)
    rc_low, rc_high = percentile_interval(rc_reps, alpha)
    table = pd.DataFrame(
        {
            "kind": ["baseline" if k in BASELINES else "policy" for k in names],
            "value": point,
            "value_low": v_low,
            "value_high": v_high,
            "regret_closure": rc,
            "regret_closure_low": rc_low,
            "regret_closure_high": rc_high,
        },
        index=pd.Index(names, name="policy"),
    )
    return table

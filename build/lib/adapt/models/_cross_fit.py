"""Splitting rows by person: cross-fitting folds and half-samples for intervals."""

from __future__ import annotations

import numpy as np


def _group_codes(n_rows: int, groups) -> np.ndarray:
    if groups is None:
        return np.arange(n_rows)
    _, codes = np.unique(np.asarray(groups), return_inverse=True)
    return codes


def person_folds(n_rows: int, groups, n_folds: int, seed: int) -> list[np.ndarray]:
    """Row indices of each fold; all rows of one person fall in the same fold."""
    codes = _group_codes(n_rows, groups)
    fold_of_group = np.random.default_rng(seed).permutation(codes.max() + 1) % n_folds
    fold = fold_of_group[codes]
    return [np.flatnonzero(fold == k) for k in range(n_folds)]


def half_samples(n_rows: int, groups, n_samples: int, seed: int) -> list[np.ndarray]:
    """`n_samples` random halves of the persons (each as row indices), for half-sampling.

    The spread of an estimate over half-samples, divided by sqrt(2), estimates its spread at the
    full sample size (Politis & Romano's subsampling with b = n/2).
    """
    codes = _group_codes(n_rows, groups)
    rng = np.random.default_rng(seed)
    n_groups = codes.max() + 1
    halves = []
    for _ in range(n_samples):
        chosen = np.zeros(n_groups, bool)
        chosen[rng.permutation(n_groups)[: n_groups // 2]] = True
        halves.append(np.flatnonzero(chosen[codes]))
    return halves


def groups_of(groups, rows: np.ndarray):
    """The group labels of `rows`, or None when rows are their own groups."""
    return None if groups is None else np.asarray(groups)[rows]

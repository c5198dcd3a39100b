"""The behaviour model: which intervention a caseworker would choose, given what is offered."""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.models import _lightgbm
from adapt.models._cross_fit import person_folds
from adapt.models._encoded import Encoded


class CrossFittedPropensity:
    """LightGBM multiclass model of the chosen intervention, cross-fitted by person.

    `out_of_fold_` holds, for every training row, probabilities from a model that did not see
    that person; `predict` averages the fold models. Probabilities are restricted to what the
    row's region offers and renormalised; ``min_propensity`` bounds them away from 0 so inverse
    weights stay finite (an explicit, documented choice rather than a silent clip).
    """

    unsaved_state = ("out_of_fold_",)  # the training rows' estimates: needed while fitting

    def __init__(
        self,
        n_arms: int,
        n_folds: int = 2,
        min_propensity: float = 0.01,
        max_rows: int | None = None,
        random_state: int = 0,
        n_jobs: int = 1,
        **lightgbm,
    ):
        self.n_arms, self.n_folds, self.min_propensity = n_arms, n_folds, min_propensity
        self.max_rows = max_rows
        self.random_state, self.n_jobs, self.lightgbm = random_state, n_jobs, lightgbm

    def fit(self, X: pd.DataFrame, treatment: np.ndarray, available: np.ndarray, groups=None):
        self.models_ = []
        self.out_of_fold_ = np.zeros((len(X), self.n_arms))
        if self.n_folds == 1:  # one model on all rows; out_of_fold_ is then in-sample
            folds = [np.arange(len(X))]
        else:
            folds = person_folds(len(X), groups, self.n_folds, self.random_state)
        for k, held_out in enumerate(folds):
            train = held_out if self.n_folds == 1 else np.setdiff1d(np.arange(len(X)), held_out)
            train = _at_most(train, self.max_rows, self.random_state + k)
            model = _lightgbm.classifier(
                random_state=self.random_state + k, n_jobs=self.n_jobs, **self.lightgbm
            )
            model = _lightgbm.fit(model, X.iloc[train], treatment[train])
            self.models_.append(model)
            self.out_of_fold_[held_out] = self._expand(model, X.iloc[held_out])
        self.out_of_fold_ = self._restrict(self.out_of_fold_, available)
        return self

    def predict(self, X: pd.DataFrame, available: np.ndarray) -> np.ndarray:
        raw = np.mean([self._expand(m, X) for m in self.models_], axis=0)
        return self._restrict(raw, available)

    def _expand(self, model, X) -> np.ndarray:
        out = np.zeros((len(X), self.n_arms))
        probs = model.predict(X.values if isinstance(X, Encoded) else X)
        if probs.ndim == 1:  # two classes: LightGBM gives the second's probability
            probs = np.column_stack([1 - probs, probs])
        out[:, model.classes_] = probs
        return out

    def _restrict(self, probs: np.ndarray, available: np.ndarray) -> np.ndarray:
        return floor_probabilities(probs, available, self.min_propensity)


def floor_probabilities(probs: np.ndarray, available: np.ndarray, floor: float) -> np.ndarray:
    """Probabilities over the offered arms, each at least `floor`, summing to 1.

    Arms below the floor are raised to it and the others share what is left in proportion to
    their probabilities; repeated until none falls below (at most once per arm), so the floor
    holds after normalising rather than before it.
    """
    n_offered = available.sum(axis=1, keepdims=True)
    if (floor * n_offered > 1 + 1e-12).any():
        raise ValueError(
            f"min_propensity {floor} is too large: {int(n_offered.max())} offered interventions "
            "cannot all have it"
        )
    probs = np.where(available, np.maximum(probs, 0.0), 0.0)
    fixed = np.zeros(probs.shape, bool)
    for _ in range(probs.shape[1]):
        free = available & ~fixed
        free_mass = np.where(free, probs, 0.0).sum(axis=1, keepdims=True)
        room = 1.0 - floor * fixed.sum(axis=1, keepdims=True)
        scaled = np.where(free, probs * room / np.where(free_mass > 0, free_mass, 1.0), 0.0)
        # Rows whose free arms have no mass left share the room equally.
        even = room / np.maximum(free.sum(axis=1, keepdims=True), 1)
        scaled = np.where(free & (free_mass <= 0), even, scaled)
        below = free & (scaled < floor)
        probs = np.where(fixed, floor, scaled)
        if not below.any():
            break
        fixed |= below
        probs = np.where(fixed, floor, probs)
    return probs


def _at_most(rows: np.ndarray, max_rows: int | None, seed: int) -> np.ndarray:
    """A random subset of `rows` of size `max_rows`: caseworkers' habits need fewer rows."""
    if max_rows is None or len(rows) <= max_rows:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, max_rows, replace=False))

"""Pairing rows with interventions, for models that take the intervention as a feature."""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.models import _lightgbm
from adapt.models._cross_fit import person_folds
from adapt.models._encoded import Encoded, take

ARM = "__intervention__"
ARM_AT_STEP = "__intervention_at_step__"
STEPS = 6


def with_arm(X: pd.DataFrame | Encoded, arms: np.ndarray, interventions: list[str]):
    """`X` with the intervention as one more categorical column.

    With a ``current_step`` column, the pair (intervention, step) is added as a categorical too:
    what an intervention does depends on where on the ladder a person stands, and one split on
    the pair lets every arm carry its own step profile instead of needing a chain of splits.
    An `Encoded` `X` gives the same columns as a float matrix (categories by code).
    """
    arms = np.asarray(arms)
    if isinstance(X, Encoded):
        columns = [X.values, arms]
        if "current_step" in X.columns:
            step = np.clip(X.column("current_step").astype(np.int64), 0, STEPS - 1)
            columns.append(arms * STEPS + step)
        return np.column_stack(columns)
    columns = {ARM: pd.Categorical.from_codes(arms, categories=interventions)}
    if "current_step" in X:
        step = np.clip(X["current_step"].to_numpy(np.int64), 0, STEPS - 1)
        labels = [f"{a}@{s}" for a in interventions for s in range(STEPS)]
        columns[ARM_AT_STEP] = pd.Categorical.from_codes(arms * STEPS + step, categories=labels)
    return X.assign(**columns)


def pair_columns(columns) -> list[str]:
    """The columns `with_arm` gives a frame with `columns`."""
    extra = [ARM, ARM_AT_STEP] if "current_step" in columns else [ARM]
    return [*columns, *extra]


def pooled_outcome_model(X, t, y, interventions, settings, seed, n_jobs):
    """One LightGBM classifier of progression with the intervention as a feature."""
    model = _lightgbm.classifier(random_state=seed, n_jobs=n_jobs, **settings)
    return _lightgbm.fit(model, with_arm(X, t, interventions), y)


def predict_pairs(model, X, rows, arms, interventions) -> np.ndarray:
    return model.predict(with_arm(take(X, rows), arms, interventions))


class CrossFittedOutcome:
    """Pooled outcome model cross-fitted by person: out-of-fold predictions for every arm."""

    unsaved_state = ("out_of_fold_",)  # the training rows' estimates: needed while fitting

    def __init__(self, interventions, settings, n_folds, seed, n_jobs):
        self.interventions, self.settings = interventions, settings
        self.n_folds, self.seed, self.n_jobs = n_folds, seed, n_jobs

    def fit(self, X, t, y, available, groups):
        self.models_ = []
        self.out_of_fold_ = np.full(available.shape, np.nan)
        for k, held_out in enumerate(person_folds(len(X), groups, self.n_folds, self.seed)):
            train = np.setdiff1d(np.arange(len(X)), held_out)
            model = pooled_outcome_model(
                X.iloc[train],
                t[train],
                y[train],
                self.interventions,
                self.settings,
                self.seed + k,
                self.n_jobs,
            )
            self.models_.append(model)
            rows, arms = np.nonzero(available[held_out])
            self.out_of_fold_[held_out[rows], arms] = predict_pairs(
                model, X.iloc[held_out], rows, arms, self.interventions
            )
        return self

    def explained_parts(self, X, rows, arms) -> list[tuple]:
        """Each fold model with its input, weighted to their mean (see `_explained_parts`)."""
        frame = with_arm(take(X, rows), arms, self.interventions)
        positions = np.arange(len(rows))
        return [(m, frame, positions, 1 / len(self.models_)) for m in self.models_]

    def predict(self, X, rows, arms) -> np.ndarray:
        return np.mean(
            [predict_pairs(m, X, rows, arms, self.interventions) for m in self.models_], axis=0
        )

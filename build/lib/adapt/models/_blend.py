"""Blend: the mean of an S-learner's and a sequence learner's estimates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adapt.features import ordered_columns
from adapt.models._arms import pair_columns, pooled_outcome_model, predict_pairs, with_arm
from adapt.models._base import FULL_DATA_SEED
from adapt.models._encoded import Encoded, take
from adapt.models._sequence_learner import SequenceLearner


@dataclass
class BlendParts:
    """One estimate's models: S-learner models (their mean is the S half) and a sequence
    model."""

    s_models: list
    sequence: object


class BlendLearner(SequenceLearner):
    """Half the S-learner's estimate, half the sequence learner's, with the same settings.

    The two err differently: the S-learner reads the history as counts and is steady on small
    or rare-intervention data, the sequence learner reads the order and wins where the order
    matters. Their mean was ahead of either alone on every world measured at 3,200 persons
    (`benchmarks/bench_auto.py`, six worlds x five seeds).

    With ``point_estimate="full"`` the sequence half of the estimate is one model on all rows
    and the S half the mean of the S models of the half-samples: averaging half-samples helps
    an S-learner and starves the sequence learner's categorical regularisation (measured in
    `benchmarks/results/full_data_estimate.md`). The half-samples give the spread as for every
    learner.
    """

    def fit(self, X, treatment, y, groups=None, engine=None):
        self.s_columns_ = [c for c in X.columns if c not in ordered_columns()]
        super().fit(X, treatment, y, groups, engine)
        if self.point_estimate_ == "full" and len(self.bag_estimators_) > 1:
            s_models = [m for parts in self.bag_estimators_ for m in parts.s_models]
            self.estimators_ = [BlendParts(s_models, self.estimators_[0].sequence)]
        return self

    def _fit_one(self, X, t, y, available, groups, seed):
        sequence = super()._fit_one(X, t, y, available, groups, seed)
        # the full-data estimate takes its S half from the half-samples (see the class)
        if seed == FULL_DATA_SEED and self.n_bags > 1:
            return BlendParts([], sequence)
        s_model = pooled_outcome_model(
            X[self.s_columns_],
            t,
            y,
            self.interventions_,
            self._lightgbm(),
            self.random_state + 200 + seed,
            self.n_jobs,
        )
        return BlendParts([s_model], sequence)

    def _predict_one(self, parts, X, rows, arms):
        s_input = self._s_input(X)
        s_half = np.mean(
            [predict_pairs(m, s_input, rows, arms, self.interventions_) for m in parts.s_models],
            axis=0,
        )
        return 0.5 * s_half + 0.5 * super()._predict_one(parts.sequence, X, rows, arms)

    def _encoded_input(self, E, rows, arms):
        s_pairs = with_arm(self._s_input(E).take(rows), arms, self.interventions_)
        return s_pairs, super()._encoded_input(E, rows, arms)

    def _predict_encoded(self, parts, pairs):
        s_pairs, sequence_pairs = pairs
        s_half = np.mean([m.predict(s_pairs) for m in parts.s_models], axis=0)
        return 0.5 * s_half + 0.5 * parts.sequence.predict(sequence_pairs)

    def _explained_parts(self, parts, X, rows, arms):
        # Each model's log-odds contributions, weighted as in the estimate: an approximation,
        # the estimate being a mean of probabilities. The S models read fewer columns, named
        # by the fifth entry (a float matrix has no names).
        s_frame = with_arm(take(self._s_input(X), rows), arms, self.interventions_)
        s_columns = pair_columns(self.s_columns_)
        weight = 0.5 / len(parts.s_models)
        positions = np.arange(len(rows))
        s_parts = [(m, s_frame, positions, weight, s_columns) for m in parts.s_models]
        [(model, pairs, _, _)] = super()._explained_parts(parts.sequence, X, rows, arms)
        return [*s_parts, (model, pairs, positions, 0.5)]

    @property
    def screens_exactly(self) -> bool:
        return len(self.estimators_) == 1 and len(self.estimators_[0].s_models) == 1

    def _screening_model(self):
        parts = self.estimators_[0]
        return BlendParts(parts.s_models[:1], parts.sequence)

    def _s_input(self, X):
        return X.select(self.s_columns_) if isinstance(X, Encoded) else X[self.s_columns_]

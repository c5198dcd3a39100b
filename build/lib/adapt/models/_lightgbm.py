"""LightGBM settings shared by every learner, so comparisons differ only by the learner, and the
fitted model kept as LightGBM's booster alone."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np


def _settings(
    n_estimators, learning_rate, num_leaves, min_child_samples, random_state, n_jobs, **extra
) -> dict:
    return dict(
        n_estimators=n_estimators,
        learning_rate=learning_rate,
        num_leaves=num_leaves,
        min_child_samples=min_child_samples,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=random_state,
        n_jobs=n_jobs,
        verbose=-1,
        **extra,
    )


def classifier(**settings) -> lgb.LGBMClassifier:
    return lgb.LGBMClassifier(**_settings(**settings))


def regressor(**settings) -> lgb.LGBMRegressor:
    return lgb.LGBMRegressor(**_settings(**settings))


# Below this many rows LightGBM predicts on one thread: starting OpenMP's team costs more than
# the trees (30 times more for one person's rows on a busy 2-core machine). Above it every core
# predicts (LightGBM's 0): rows are independent, so the result does not depend on the threads.
ONE_THREAD_ROWS = 5_000
CONTRIBUTION_ROWS = 64


class Trees:
    """A fitted LightGBM model kept as its booster and, for a classifier, its classes.

    The scikit-learn wrapper is left behind after fitting: its state is private to one
    LightGBM version, while a booster is saved in LightGBM's own text format (see
    `adapt.models.save_model`) and reads pandas categoricals with the categories it was fitted
    on, as the wrapper does.
    """

    def __init__(self, booster: lgb.Booster, classes=None):
        self.booster_ = booster
        self.classes_ = None if classes is None else np.asarray(classes)

    def predict(self, X, **options) -> np.ndarray:
        """The probability of class 1 for a binary classifier, of each class for a multiclass
        one, the value for a regressor (`X`: a DataFrame or a float matrix with categories by
        code; `options` go to ``Booster.predict``)."""
        # TreeSHAP costs about a millisecond a row: threads pay off from a few dozen rows
        many = CONTRIBUTION_ROWS if options.get("pred_contrib") else ONE_THREAD_ROWS
        threads = 1 if len(X) < many else 0
        return self.booster_.predict(X, num_threads=threads, **options)


def fit(estimator, X, y, **fit_params) -> Trees:
    """`estimator` (`classifier` or `regressor`) fitted on `X`, `y`, kept as `Trees`."""
    estimator.fit(X, y, **fit_params)
    return Trees(estimator.booster_, getattr(estimator, "classes_", None))

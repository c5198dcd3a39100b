"""LightGBM settings shared by every learner, so comparisons differ only by the learner."""

from __future__ import annotations

import lightgbm as lgb


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

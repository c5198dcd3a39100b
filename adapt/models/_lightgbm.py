"""LightGBM settings shared by every learner, so comparisons differ only by the learner."""

from __future__ import annotations

import lightgbm as lgb


def classifier(
    n_estimators: int,
    learning_rate: float,
    num_leaves: int,
    min_child_samples: int,
    random_state: int,
    n_jobs: int,
    **extra,
) -> lgb.LGBMClassifier:
    return lgb.LGBMClassifier(
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


def regressor(
    n_estimators: int,
    learning_rate: float,
    num_leaves: int,
    min_child_samples: int,
    random_state: int,
    n_jobs: int,
    **extra,
) -> lgb.LGBMRegressor:
    return lgb.LGBMRegressor(
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

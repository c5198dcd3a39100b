"""The learner an experiment or `adapt train` fits: one by name, or `auto`'s choice."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from adapt.features import DecisionPoints
from adapt.models import MultiTreatmentLearner, make_learner
from adapt.selection import AutoLearner

AUTO = "auto"
# What auto takes from a learner's settings; its candidates carry their own LightGBM settings.
_AUTO_SETTINGS = ("n_bags", "interval_level", "random_state", "n_jobs", "catalogue")


def make_model(name: str, budget_seconds: float | None = None, **settings):
    """An unfitted learner by its short name, or an `AutoLearner` for ``"auto"``.

    `settings` are the learner's parameters; a None `n_bags` keeps the learner's default.
    `budget_seconds` is for auto only.
    """
    settings = {k: v for k, v in settings.items() if not (k == "n_bags" and v is None)}
    if name == AUTO:
        kept = {k: v for k, v in settings.items() if k in _AUTO_SETTINGS}
        return AutoLearner(budget_seconds=budget_seconds, **kept)
    if budget_seconds is not None:
        raise ValueError(f"budget_seconds is for the auto learner only, not {name!r}")
    return make_learner(name, **settings)


def fitted_learner(model) -> MultiTreatmentLearner:
    """The learner to evaluate, explain, audit, plan with and save: auto's choice, or `model`."""
    return model.best_estimator_ if isinstance(model, AutoLearner) else model


def selection_table(model) -> pd.DataFrame | None:
    """Every candidate auto scored (None for a learner fitted by name)."""
    return model.cv_results_ if isinstance(model, AutoLearner) else None


def for_learner(points: DecisionPoints, learner: MultiTreatmentLearner) -> DecisionPoints:
    """`points` with only the feature columns `learner` was fitted on (auto reads the ordered
    history; its choice may read the summary)."""
    return replace(points, features=points.features[list(learner.feature_names_in_)])

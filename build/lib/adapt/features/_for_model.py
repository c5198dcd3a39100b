"""The features a fitted model was trained on, built again for new tables."""

from __future__ import annotations

import pandas as pd

from adapt.features._decision_points import SENSITIVE, DecisionPoints, decision_points
from adapt.features._next_decision import next_decision_points


def feature_settings(model) -> dict:
    """`decision_points` arguments that rebuild `model`'s features: its catalogue, whether the
    sensitive columns were in, and which history it reads (``model.history``)."""
    return {
        "catalogue": getattr(model, "catalogue", None),
        "include_sensitive": all(c in model.feature_names_in_ for c in SENSITIVE),
        "history": getattr(model, "history", "summary"),
    }


def decision_points_for(model, persons: pd.DataFrame, episodes: pd.DataFrame) -> DecisionPoints:
    """Every recorded decision point, with the features `model` was fitted on."""
    return decision_points(persons, episodes, **feature_settings(model))


def next_decision_points_for(
    model, persons: pd.DataFrame, episodes: pd.DataFrame, current_step=None, day=None
) -> DecisionPoints:
    """Each person's next decision, with the features `model` was fitted on."""
    return next_decision_points(
        persons, episodes, current_step=current_step, day=day, **feature_settings(model)
    )

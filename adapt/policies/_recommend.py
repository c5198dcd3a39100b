"""Recommendations for every decision point in a pair of contract tables."""

from __future__ import annotations

import pandas as pd

from adapt.features import SENSITIVE, decision_points
from adapt.models import MultiTreatmentLearner
from adapt.policies._greedy import choose_best


def recommend_for_decisions(
    model: MultiTreatmentLearner,
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    min_uplift: float | None = None,
) -> pd.DataFrame:
    """person_id, episode_no, recommended and ``p_<intervention>`` for each decision point."""
    # Build the features the model was trained with, sensitive columns included or not.
    include_sensitive = all(c in model.feature_names_in_ for c in SENSITIVE)
    points = decision_points(persons, episodes, model.catalogue, include_sensitive)
    p = model.predict(points.features)
    usual = lower = None
    if min_uplift is not None:
        usual = model.usual_path(points.features)
        lower, _ = model.predict_interval(points.features)
    recommended = choose_best(p, usual, lower, min_uplift)
    return pd.concat([points.keys, recommended, p], axis=1)

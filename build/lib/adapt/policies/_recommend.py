"""Recommendations for every decision point in a pair of contract tables."""

from __future__ import annotations

from functools import partial

import pandas as pd

from adapt.contract import CHUNK_PERSONS, by_person_chunks
from adapt.features import decision_points_for
from adapt.models import MultiTreatmentLearner
from adapt.policies._greedy import choose_best


def recommend_for_decisions(
    model: MultiTreatmentLearner,
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    min_uplift: float | None = None,
    interval: float | None = None,
    chunk_size: int = CHUNK_PERSONS,
    progress=None,
    engine=None,
) -> pd.DataFrame:
    """person_id, episode_no, recommended and ``p_<intervention>`` for each decision point.

    With `interval` (a level such as 0.9), ``lo_<intervention>`` and ``hi_<intervention>``
    follow each ``p_<intervention>``. Persons go `chunk_size` at a time (the result does not
    depend on it); `progress` is called with each chunk's number of persons. With `engine`
    (`adapt.engines`) the chunks run on its workers, with the same result.
    """
    recommend = partial(_recommend, model, min_uplift=min_uplift, interval=interval)
    return by_person_chunks(recommend, persons, episodes, chunk_size, progress, engine)


def _recommend(model, persons, episodes, min_uplift, interval) -> pd.DataFrame:
    points = decision_points_for(model, persons, episodes)
    p = model.predict(points.features)
    usual = uplift_lower = None
    if min_uplift is not None:
        usual = model.usual_path(points.features)
        uplift_lower, _ = model.predict_uplift_interval(points.features)
    if model.recommends_usual_path_:  # see adapt.selection: nothing beat the caseworkers
        recommended = model.usual_path(points.features).rename("recommended")
    else:
        recommended = choose_best(p, usual, uplift_lower, min_uplift)
    estimates = p
    if interval is not None:
        lower, upper = model.predict_interval(points.features, level=interval)
        columns = {}
        for code in model.interventions_:
            columns[f"p_{code}"] = p[f"p_{code}"]
            columns[f"lo_{code}"] = lower[f"p_{code}"]
            columns[f"hi_{code}"] = upper[f"p_{code}"]
        estimates = pd.DataFrame(columns)
    return pd.concat([points.keys, recommended, estimates], axis=1)

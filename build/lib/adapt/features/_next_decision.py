"""Features of the decision still to be made: the next episode of each person."""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.catalogue import Catalogue, load_catalogue
from adapt.features._decision_points import DECISION_DAY, DecisionPoints, decision_points


def next_decision_points(
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    catalogue: Catalogue | None = None,
    include_sensitive: bool = True,
    history: str = "summary",
    current_step=None,
    day=None,
) -> DecisionPoints:
    """One row per person of `persons` (in its order): the decision after their last episode.

    The features are exactly those `decision_points` would give an episode that starts after the
    person's recorded ones, so a model sees a planned or live decision as it saw its training
    rows. The step a person stands on is the last episode's ``step_after`` (0 with no episode
    yet) unless `current_step` gives it. The decision is taken on `day` (days since entry; by
    default the last episode's ``end_day``, or 0), which must not be earlier than that end.
    ``treatment`` and ``outcome`` are unknown (missing).
    """
    catalogue = catalogue or load_catalogue()
    ids = persons["person_id"].to_numpy()
    last = (
        episodes.sort_values(["person_id", "episode_no"], kind="stable")
        .groupby("person_id", sort=False)
        .tail(1)
        .set_index("person_id")
        .reindex(ids)
    )
    step = (
        last["step_after"].fillna(0).to_numpy(np.int64)
        if current_step is None
        else np.broadcast_to(np.asarray(current_step, dtype=np.int64), len(ids))
    )
    last_end = last["end_day"].fillna(0).to_numpy(np.int64)
    day = last_end if day is None else np.broadcast_to(np.asarray(day, dtype=np.int64), len(ids))
    early = day < last_end
    if early.any():
        raise ValueError(
            f"day is before the last episode's end_day for persons {ids[early][:5].tolist()} "
            f"(day {day[early][:5].tolist()}, end_day {last_end[early][:5].tolist()})"
        )
    # A placeholder episode: only what was known when it was decided enters its features.
    placeholder = pd.DataFrame(
        {
            "person_id": ids,
            "episode_no": last["episode_no"].fillna(0).to_numpy(np.int64) + 1,
            "intervention": catalogue.intervention_codes[0],
            "start_day": day,
            "end_day": day,
            "hours": 0.0,
            "step_before": step,
            "step_after": step,
        }
    )
    columns = list(placeholder.columns)
    placeholder[DECISION_DAY] = day.astype(float)
    table = pd.concat([episodes[columns], placeholder], ignore_index=True)
    points = decision_points(persons, table, catalogue, include_sensitive, history)
    is_next = points.keys.merge(
        placeholder[["person_id", "episode_no"]].assign(_next=True), how="left"
    )["_next"].notna()
    rows = np.flatnonzero(is_next.to_numpy())
    chosen = points.take(rows)
    order = pd.Index(chosen.keys["person_id"]).get_indexer(ids)
    chosen = chosen.take(order)
    unknown = pd.Series(pd.Categorical([None] * len(ids), categories=catalogue.intervention_codes))
    return DecisionPoints(
        chosen.keys,
        chosen.features,
        unknown.rename("intervention"),
        pd.Series(np.full(len(ids), np.nan), name="progressed"),
    )

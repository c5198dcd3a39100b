"""Scarce places for held-out persons: the learner's allocation against the caseworkers', with
the places the records show, and against the truth on simulated data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapt.allocation import WAITS, best_allocation, places_matrix
from adapt.evaluation import truth_matrix
from adapt.features import next_decision_points_for
from adapt.pipeline._data import ExperimentData
from adapt.planning import allocate


@dataclass
class AllocationEvaluation:
    """Metrics (aggregates only) and the cells table: places, filled, value of one more."""

    metrics: dict[str, float]
    cells: pd.DataFrame


def recorded_places(waiting: pd.DataFrame, catalogue) -> pd.DataFrame:
    """``region, intervention, places``: how many of `waiting`'s decisions (``region`` and the
    ``intervention`` caseworkers chose) went to each offered cell."""
    offered = catalogue.availability()
    counts = waiting.groupby(["region", "intervention"], observed=True).size()
    rows = [
        (r, c, int(counts.get((r, c), 0)))
        for r in offered.index
        for c in offered.columns
        if offered.loc[r, c]
    ]
    return pd.DataFrame(rows, columns=["region", "intervention", "places"])


def evaluate_allocation(model, data: ExperimentData, valid_person_ids) -> AllocationEvaluation:
    """Allocate the places caseworkers used at held-out persons' last recorded decision.

    Each validation person with an episode waits just before their last one (its history: the
    episodes before); the places of a cell are the caseworkers' count of those last episodes
    there. Metrics per waiting person: the estimated value (expected progressions) of
    `adapt.planning.allocate`'s allocation, with its interval, and of the caseworkers' choices;
    on simulated data the true values of both and of the best allocation the truth allows, and
    the closure ``(allocate - caseworkers) / (best - caseworkers)``. Over-filled cells are
    counted (0 expected).
    """
    catalogue = model.catalogue_
    valid = pd.unique(np.asarray(valid_person_ids))
    episodes = data.episodes[data.episodes["person_id"].isin(valid)]
    last_no = episodes.groupby("person_id")["episode_no"].transform("max")
    last = episodes[episodes["episode_no"] == last_no].sort_values("person_id")
    history = episodes[episodes["episode_no"] < last_no]
    persons = data.persons[data.persons["person_id"].isin(last["person_id"])]
    persons = persons.sort_values("person_id").reset_index(drop=True)
    region = persons.set_index("person_id")["region"]
    chosen = last.assign(region=last["person_id"].map(region).to_numpy())
    places = recorded_places(chosen, catalogue)
    result = allocate(model, persons, history, places)
    n = len(persons)
    table = result.persons
    arms = list(model.interventions_)
    observed = pd.Index(arms).get_indexer(last["intervention"])
    estimate = result.persons["value"].sum()
    points = next_decision_points_for(model, persons, history)
    p = model.estimate(model.encode(points.features))
    known = observed >= 0
    metrics = {
        "allocation_persons": float(n),
        "allocation_value": float(estimate / n),
        "allocation_value_lower": float(result.value_lower / n),
        "allocation_value_upper": float(result.value_upper / n),
        "allocation_value_caseworkers": float(
            np.nansum(p[np.arange(n)[known], observed[known]]) / n
        ),
        "allocation_overfilled": float((result.cells["filled"] > result.cells["places"]).sum()),
        "allocation_waiting_share": float(table["intervention"].isna().mean()),
    }
    if data.truth is not None:
        true = truth_matrix(data.truth, last[["person_id", "episode_no"]], arms).to_numpy(float)
        rows = np.arange(n)
        given = result.persons["intervention"].notna().to_numpy()
        at = pd.Index(arms).get_indexer(table["intervention"].fillna(""))
        value = float(true[rows[given], at[given]].sum())
        caseworkers = float(np.nansum(true[rows[known], observed[known]]))
        cells = places_matrix(places, catalogue)[
            :, pd.Index(catalogue.intervention_codes).get_indexer(arms)
        ]
        region_index = pd.Index(catalogue.region_codes).get_indexer(persons["region"])
        best = best_allocation(true, region_index, cells).assignment
        best_value = float(true[rows[best != WAITS], best[best != WAITS]].sum())
        gap = best_value - caseworkers
        metrics |= {
            "allocation_true_value": value / n,
            "allocation_true_value_caseworkers": caseworkers / n,
            "allocation_true_value_best": best_value / n,
            "allocation_closure": (value - caseworkers) / gap if gap > 0 else float("nan"),
        }
    return AllocationEvaluation(metrics, result.cells)

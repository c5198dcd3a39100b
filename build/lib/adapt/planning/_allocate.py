"""Scarce places to the persons waiting for their next intervention, by the learner's estimates.

Who waits: every person in the tables, at the decision after their last episode. What a place
is worth to a person: the estimated probability that its episode progresses (or, with `k`, the
expected steps over a k-step plan that starts with it). The allocation of most total value
under the places (`adapt.allocation.best_allocation`) is solved once with the estimate and once
with each half-sample's draw, which gives the intervals of the total value and of the value of
one more place per cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from adapt._bootstrap import spread_interval
from adapt.allocation import WAITS, best_allocation, first_come, places_matrix
from adapt.contract import CHUNK_PERSONS, map_person_chunks, validate_tables
from adapt.features import next_decision_points_for
from adapt.models import best_arms
from adapt.planning._planner import Planner, check_seen_regions


@dataclass
class Allocation:
    """What `allocate` gives.

    Attributes
    ----------
    persons : DataFrame
        One row per person, by person_id: ``person_id, region, intervention`` (missing: waits),
        ``p_progress`` with ``p_lower``/``p_upper`` (the estimate and its interval, for the
        intervention given), ``value`` (what the place is worth to them), ``best_intervention``,
        ``best_value`` (their best without the places' limits) and ``value_lost``.
    cells : DataFrame
        One row per offered (region, intervention): ``places``, ``filled``, ``waiting_best``
        (persons whose unconstrained best it is), ``value_of_place`` (the dual price: what one
        more place would add to the total) with ``value_of_place_lower``/``_upper``.
    value, value_lower, value_upper : float
        The total value of the allocation and its interval over the half-samples.
    objective : str
        ``"progressions"`` or ``"steps over k"``.
    cap : dict, optional
        Under a cap on gender gaps (`adapt.fairness.mitigation.capped_allocate`): its
        ``max_gap``, the largest gap without it (``greedy_gap``) and with it (``gap``), ``met``.
    """

    persons: pd.DataFrame
    cells: pd.DataFrame
    value: float
    value_lower: float
    value_upper: float
    objective: str
    cap: dict | None = None


def allocate(
    model,
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    places: pd.DataFrame,
    *,
    k: int | None = None,
    transitions=None,
    level: float | None = None,
    rule: str = "best",
    choose=None,
    chunk_size: int = CHUNK_PERSONS,
    progress=None,
    engine=None,
) -> Allocation:
    """Give the places to the waiting persons.

    Parameters
    ----------
    model : fitted adapt learner
    persons, episodes : DataFrame
        Contract tables; every person waits for the decision after their last episode.
    places : DataFrame
        ``region, intervention, places`` as `adapt.allocation.check_places` gives it.
    k : int, optional
        Value a place by the expected steps over a k-step plan starting with it (needs
        `transitions`); by default by the probability that it progresses.
    level : float, optional
        Interval level (default: the model's ``interval_level``).
    rule : {"best", "first_come"}
        ``best``: the allocation of most total value (exact). ``first_come``: persons served in
        the order they became free (their last episode's end, then person_id), each taking the
        best place left; the baseline the best allocation is measured against.
    choose : callable, optional
        Instead of `rule`: ``choose(values, region, places, persons)`` gives the allocation
        as an `adapt.allocation.Solution` (`persons` in the rows' order, by person_id); e.g.
        the gender-gap capped allocation of `adapt.fairness.mitigation.capped_allocate`.
    engine : adapt.engines engine, optional
        Where the estimates of each chunk of persons are made (default: here); the
        allocation itself is one exact solution per region, made here.
    """
    if rule not in ("best", "first_come"):
        raise ValueError(f"rule must be 'best' or 'first_come', got {rule!r}")
    if k is not None and transitions is None:
        raise ValueError("k needs the model's step transitions (transitions=)")
    catalogue = model.catalogue_
    validate_tables(persons, episodes, catalogue=catalogue)
    check_seen_regions(model, persons)
    level = model.interval_level if level is None else level
    persons = persons.sort_values("person_id", kind="stable").reset_index(drop=True)
    estimate = _estimates(model, persons, episodes, level, chunk_size, progress, engine)
    values = estimate["p"]
    if k is not None:
        planner = Planner(model, transitions, k=k)
        values = planner.first_values(persons, episodes, chunk_size=chunk_size, engine=engine)
    region = pd.Index(catalogue.region_codes).get_indexer(persons["region"])
    arms = pd.Index(catalogue.intervention_codes).get_indexer(model.interventions_)
    cells = places_matrix(places, catalogue)[:, arms]
    if choose is None and rule == "best":

        def choose(values, region, cells, persons):
            return best_allocation(values, region, cells)

    if choose is not None:
        solution = choose(values, region, cells, persons)
        assignment, duals = solution.assignment, solution.duals
    else:
        assignment = first_come(values, region, cells, _arrival_order(persons, episodes))
        duals = np.full(cells.shape, np.nan)
    draws = [] if k is not None else estimate["draws"]
    drawn = [choose(d, region, cells, persons).duals for d in draws] if choose else []
    table = _persons_table(model, persons, values, estimate, assignment)
    given = assignment != WAITS
    totals = [float(np.nansum(d[np.flatnonzero(given), assignment[given]])) for d in draws]
    value = float(table["value"].sum())
    value_lo, value_hi = spread_interval(value, totals, level)
    return Allocation(
        persons=table,
        cells=_cells_table(model, region, cells, assignment, values, duals, drawn, level),
        value=value,
        value_lower=value_lo,
        value_upper=value_hi,
        objective="progressions" if k is None else f"steps over {k}",
    )


def _estimates(model, persons, episodes, level, chunk_size, progress, engine) -> dict:
    """The estimate, its interval and the half-samples' draws for every person and arm."""
    parts = map_person_chunks(
        partial(_chunk_estimates, model, level), persons, episodes, chunk_size, progress, engine
    )
    p = np.concatenate([part[0] for part in parts])
    if parts[0][1] is None:
        nan = np.full_like(p, np.nan)
        return {"p": p, "draws": [], "lower": nan, "upper": nan}
    return {
        "p": p,
        "draws": list(np.concatenate([part[1] for part in parts], axis=1)),
        "lower": np.concatenate([part[2] for part in parts]),
        "upper": np.concatenate([part[3] for part in parts]),
    }


def _chunk_estimates(model, level, persons, episodes):
    encoded = model.encode(next_decision_points_for(model, persons, episodes).features)
    draws = model.draws(encoded) if model.n_bags >= 2 else None
    lower, upper = model.probability_interval(draws, level) if draws is not None else (None, None)
    return model.estimate(encoded), draws, lower, upper


def _arrival_order(persons, episodes) -> np.ndarray:
    last_end = episodes.groupby("person_id")["end_day"].max()
    free = last_end.reindex(persons["person_id"]).fillna(0).to_numpy()
    return np.lexsort((persons["person_id"].to_numpy(), free))


def _persons_table(model, persons, values, estimate, assignment) -> pd.DataFrame:
    n = len(persons)
    codes = np.asarray(model.interventions_, dtype=object)
    given = assignment != WAITS
    at = np.where(given, assignment, 0)
    pick = np.arange(n), at

    def taken(matrix):
        return np.where(given, matrix[pick], np.nan)

    best = best_arms(values)
    best_value = np.nan_to_num(values[np.arange(n), best], nan=0.0)
    value = np.where(given, values[pick], 0.0)
    return pd.DataFrame(
        {
            "person_id": persons["person_id"].to_numpy(),
            "region": persons["region"].astype(str).to_numpy(),
            "intervention": pd.array(np.where(given, codes[at], None), dtype="string"),
            "p_progress": taken(estimate["p"]),
            "p_lower": taken(estimate["lower"]),
            "p_upper": taken(estimate["upper"]),
            "value": value,
            "best_intervention": codes[best],
            "best_value": best_value,
            "value_lost": best_value - value,
        }
    )


def _cells_table(model, region, cells, assignment, values, duals, drawn, level) -> pd.DataFrame:
    catalogue = model.catalogue_
    offered = catalogue.availability_matrix()[
        :, pd.Index(catalogue.intervention_codes).get_indexer(model.interventions_)
    ]
    given = assignment != WAITS
    filled = np.zeros(cells.shape, np.int64)
    np.add.at(filled, (region[given], assignment[given]), 1)
    best = best_arms(values)
    wanting = np.zeros(cells.shape, np.int64)
    np.add.at(wanting, (region, best), 1)
    rows = []
    for r, a in zip(*np.nonzero(offered), strict=True):
        lo, hi = spread_interval(duals[r, a], [d[r, a] for d in drawn], level)
        rows.append(
            {
                "region": catalogue.region_codes[r],
                "intervention": model.interventions_[a],
                "places": int(cells[r, a]),
                "filled": int(filled[r, a]),
                "waiting_best": int(wanting[r, a]),
                "value_of_place": duals[r, a],
                "value_of_place_lower": max(lo, 0.0) if np.isfinite(lo) else lo,
                "value_of_place_upper": hi,
            }
        )
    return pd.DataFrame(rows)

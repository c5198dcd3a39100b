"""Demand: how many starts of each intervention each region would need if everyone followed
their plan, month by month, beside the starts today's practice would give the same persons.

Who is planned: the persons still under way (``exit_reason == "ongoing"``), from the decision
after their last episode. Each rollout (`adapt.planning._rollout`) follows them closed-loop in
the learner's world: the planner's first intervention is taken, the episode's outcome drawn,
the episode joins the history and the plan is made again, until the person reaches the top
step or the months are over. Today's practice is the same rollout with the caseworkers' choice
drawn from the learner's behaviour model (what the records show they choose in each
situation), on the same random numbers. Month 1 of a person is the month their first planned
episode starts (days since their entry; the records have no calendar). The rollouts' spread
gives the intervals; a cell is marked where the interval of the paired difference (plans minus
today) excludes 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from adapt._bootstrap import spread_interval
from adapt.contract import CHUNK_PERSONS, person_chunks, validate_tables
from adapt.engines import LocalEngine
from adapt.planning._planner import Planner, check_seen_regions
from adapt.planning._rollout import POLICIES, Rollouts

MARKS = ("need more", "superfluous", "")


@dataclass
class Demand:
    """What `demand` gives.

    Attributes
    ----------
    table : DataFrame
        One row per offered (region, intervention) and month 1..months: ``expected_starts``
        with ``lower``/``upper`` (over the rollouts), ``today_starts`` with
        ``today_lower``/``today_upper`` (today's practice for the same persons) and ``mark``:
        ``"need more"`` where the plans need surely more starts than today (the interval of
        the difference above 0), ``"superfluous"`` where surely fewer, else empty.
    totals : DataFrame
        The same over all the months, one row per offered (region, intervention).
    enrolled : DataFrame
        ``region, month, persons``: the persons still enrolled (not yet at the top step), the
        mean over the rollouts.
    persons, rollouts : int
        Persons planned and rollouts made.
    """

    table: pd.DataFrame
    totals: pd.DataFrame
    enrolled: pd.DataFrame
    persons: int
    rollouts: int


def demand(
    model,
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    transitions,
    *,
    months: int = 12,
    k: int = 3,
    rollouts: int | None = None,
    seed: int = 0,
    level: float | None = None,
    search: str = "screened",
    chunk_size: int = CHUNK_PERSONS,
    progress=None,
    engine=None,
) -> Demand:
    """Expected starts per region, intervention and month under the plans.

    Parameters
    ----------
    model : fitted adapt learner
    persons, episodes : DataFrame
        Contract tables; the persons with ``exit_reason == "ongoing"`` are planned, everyone's
        records give today's volumes.
    transitions : StepTransitions
        The model's step transitions (episode lengths, gaps, step-back rates).
    months : int
        Months ahead, 1..60.
    k : int
        Plan length of the re-planning (1..5).
    rollouts : int, optional
        Closed-loop rollouts (default: the model's half-samples, at least 2); rollout ``r``
        draws outcomes with half-sample ``r`` (cyclically).
    seed : int
        All randomness of the rollouts flows from it; the result does not depend on
        `chunk_size`.
    level : float, optional
        Interval level (default: the model's ``interval_level``).
    search : str
        The planner's search (see `Planner`): ``screened`` by default, since every rollout
        re-plans every round and the exact search is several times slower; the volumes are
        sums over many persons.
    engine : adapt.engines engine, optional
        Where each chunk of persons is rolled out (default: here); the same result.
    """
    catalogue = model.catalogue_
    for name, value, high in (("months", months, 60), ("rollouts", rollouts, 1000)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1
        ):
            raise ValueError(f"{name} must be a whole number from 1 to {high}, got {value!r}")
    if months > 60:
        raise ValueError(f"months must be a whole number from 1 to 60, got {months!r}")
    validate_tables(persons, episodes, catalogue=catalogue)
    level = model.interval_level if level is None else level
    rollouts = max(model.n_bags, 2) if rollouts is None else rollouts
    ongoing = persons[persons["exit_reason"] == "ongoing"]
    if ongoing.empty:
        raise ValueError(
            "persons.exit_reason: no person is 'ongoing'; demand plans the persons still under "
            f"way and the table has none (of {len(persons):,})"
        )
    check_seen_regions(model, ongoing)
    ongoing = ongoing.sort_values("person_id", kind="stable").reset_index(drop=True)
    planner = Planner(model, transitions, k=k, search=search)
    rollout = Rollouts(model, planner, transitions, episodes, months, seed)
    jobs, done = [], 0
    for chunk, their_episodes in person_chunks(ongoing, episodes, chunk_size):
        jobs.append((chunk, their_episodes, np.arange(done, done + len(chunk))))
        done += len(chunk)
    parts = (engine or LocalEngine()).map(
        partial(_chunk_rollouts, rollout, rollouts), jobs, [len(j[0]) for j in jobs], progress
    )
    starts = sum(part["plan"][0] for part in parts)
    today = sum(part["behaviour"][0] for part in parts)
    enrolled = sum(part["plan"][1] for part in parts)
    over_months = {"axis": -1, "keepdims": True}
    return Demand(
        table=_table(model, starts, today, level),
        totals=_table(model, starts.sum(**over_months), today.sum(**over_months), level).drop(
            columns="month"
        ),
        enrolled=_enrolled_table(catalogue, enrolled.mean(axis=0)),
        persons=len(ongoing),
        rollouts=rollouts,
    )


def _chunk_rollouts(rollout, rollouts, persons, episodes, position):
    """Per policy, (rollouts, regions, arms, months) starts and (rollouts, regions, months)
    enrolled persons of one chunk of persons."""
    out = {}
    for policy in POLICIES:
        runs = [rollout.run(persons, episodes, position, r, policy) for r in range(rollouts)]
        out[policy] = (np.stack([s for s, _ in runs]), np.stack([e for _, e in runs]))
    return out


def _table(model, starts, today, level) -> pd.DataFrame:
    """One row per offered cell (and month): the plans' and today's starts with their
    intervals over the rollouts, and the mark from the interval of their paired difference."""
    # a learner's arms are its catalogue's interventions, in the catalogue's order
    catalogue = model.catalogue_
    rows = []
    for r, a in zip(*np.nonzero(catalogue.availability_matrix()), strict=True):
        for m in range(starts.shape[-1]):
            planned, practice = starts[:, r, a, m], today[:, r, a, m]
            lo, hi = _bounds(planned, level)
            today_lo, today_hi = _bounds(practice, level)
            more, fewer = _bounds(planned - practice, level, clip=False)
            rows.append(
                {
                    "region": catalogue.region_codes[r],
                    "intervention": catalogue.intervention_codes[a],
                    "month": m + 1,
                    "expected_starts": float(planned.mean()),
                    "lower": lo,
                    "upper": hi,
                    "today_starts": float(practice.mean()),
                    "today_lower": today_lo,
                    "today_upper": today_hi,
                    "mark": "need more" if more > 0 else "superfluous" if fewer < 0 else "",
                }
            )
    return pd.DataFrame(rows)


def _bounds(values: np.ndarray, level: float, clip: bool = True) -> tuple[float, float]:
    low, high = spread_interval(float(values.mean()), list(values), level)
    return (max(low, 0.0) if clip and np.isfinite(low) else low), high


def _enrolled_table(catalogue, enrolled) -> pd.DataFrame:
    regions, months = enrolled.shape
    return pd.DataFrame(
        {
            "region": np.repeat(catalogue.region_codes, months),
            "month": np.tile(np.arange(1, months + 1), regions),
            "persons": enrolled.reshape(-1),
        }
    )

"""Demand: how many starts of each intervention each region would need if everyone followed
their plan, month by month, beside the volumes today's practice gives the same persons.

Who is planned: the persons still under way (``exit_reason == "ongoing"``), from the decision
after their last episode. Each rollout follows them closed-loop: the planner's first
intervention is taken, the episode's outcome is drawn (progress with the learner's probability,
from the rollout's half-sample model; without progress a step back at the estimated rate), the
episode joins the history and the plan is made again, until the person reaches the top step or
the months are over. Month 1 of a person is the month their first planned episode starts (days
since their entry; the records have no calendar). The rollouts' spread gives the intervals.

Today's volume of a cell is the rate of recorded starts per enrolled person-month in the
region (every person of the records, from entry to exit or last episode) times the persons the
rollouts keep enrolled there that month.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from adapt.contract import CHUNK_PERSONS, EPISODE_COLUMNS, person_chunks, validate_tables
from adapt.engines import LocalEngine
from adapt.features import next_decision_points_for
from adapt.planning._allocate import _interval
from adapt.planning._planner import Planner, check_seen_regions

DAYS_PER_MONTH = 30.44
MARKS = ("need more", "superfluous", "")


@dataclass
class Demand:
    """What `demand` gives.

    Attributes
    ----------
    table : DataFrame
        One row per offered (region, intervention) and month 1..months: ``expected_starts``
        with ``lower``/``upper`` (over the rollouts), ``today_starts`` (today's practice for the
        same persons) and ``mark``: ``"need more"`` where the interval lies above today's
        volume, ``"superfluous"`` where below, else empty.
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
    planner = Planner(model, transitions, k=k)
    rollout = _Rollout(model, planner, transitions, months, seed)
    jobs, done = [], 0
    for chunk, their_episodes in person_chunks(ongoing, episodes, chunk_size):
        jobs.append((chunk, their_episodes, np.arange(done, done + len(chunk))))
        done += len(chunk)
    parts = (engine or LocalEngine()).map(
        partial(_chunk_rollouts, rollout, rollouts), jobs, [len(j[0]) for j in jobs], progress
    )
    starts = sum(part[0] for part in parts)
    enrolled = sum(part[1] for part in parts)
    today = _today_rates(model, persons, episodes)[:, :, None] * enrolled.mean(axis=0)[:, None]
    return Demand(
        table=_table(model, starts, today, level),
        totals=_table(
            model, starts.sum(axis=-1, keepdims=True), today.sum(axis=-1, keepdims=True), level
        ).drop(columns="month"),
        enrolled=_enrolled_table(catalogue, enrolled.mean(axis=0)),
        persons=len(ongoing),
        rollouts=rollouts,
    )


def _chunk_rollouts(rollout, rollouts, persons, episodes, position):
    """(rollouts, regions, arms, months) starts and (rollouts, regions, months) enrolled of
    one chunk of persons."""
    runs = [rollout.run(persons, episodes, position, r) for r in range(rollouts)]
    return np.stack([s for s, _ in runs]), np.stack([e for _, e in runs])


class _Rollout:
    """Closed-loop rollouts of one chunk of persons under the planner."""

    def __init__(self, model, planner: Planner, transitions, months: int, seed: int):
        self.model, self.planner, self.months, self.seed = model, planner, months, seed
        catalogue = model.catalogue_
        codes = list(model.interventions_)
        self.codes = np.asarray(codes, dtype=object)
        self.days = np.array([transitions.days[c] for c in codes])
        self.hours = np.array([transitions.hours[c] for c in codes])
        self.gap = float(transitions.gap_days)
        self.back = np.asarray(transitions.back_rate, dtype=float)
        self.reached = np.cumsum(transitions.progress_matrix(codes), axis=2)
        self.top = catalogue.max_step
        self.repeatable = np.array([catalogue.interventions[c].repeatable for c in codes])
        self.offered = catalogue.availability_matrix()[
            :, pd.Index(catalogue.intervention_codes).get_indexer(codes)
        ]
        self.region_codes = pd.Index(catalogue.region_codes)

    def run(self, persons, episodes, position, r):
        """(regions, arms, months) starts and (regions, months) enrolled persons of rollout r."""
        n = len(persons)
        region = self.region_codes.get_indexer(persons["region"])
        history = episodes[list(EPISODE_COLUMNS)]
        ids = pd.Index(persons["person_id"])
        row = ids.get_indexer(history["person_id"])
        step = np.zeros(n, np.int64)
        day = np.zeros(n, float)
        number = np.zeros(n, np.int64)
        ordered = np.lexsort((history["episode_no"].to_numpy(), row))
        last = np.r_[row[ordered][1:] != row[ordered][:-1], True][: len(ordered)]
        at = ordered[last]
        step[row[at]] = history["step_after"].to_numpy()[at]
        day[row[at]] = history["end_day"].to_numpy()[at] + self.gap
        number[row[at]] = history["episode_no"].to_numpy()[at]
        done = np.zeros((n, len(self.codes)), bool)
        arm_of = pd.Index(self.codes).get_indexer(history["intervention"])
        done[row[arm_of >= 0], arm_of[arm_of >= 0]] = True
        first_day = day.copy()
        leave_day = np.where(step >= self.top, first_day, np.inf)  # at the top: not enrolled
        starts = np.zeros((len(self.region_codes), len(self.codes), self.months))
        new_rows = []
        for round_no in range(1000):
            month = np.floor((day - first_day) / DAYS_PER_MONTH).astype(np.int64)
            allowed = self.offered[region] & ~(~self.repeatable & done)
            active = np.flatnonzero((step < self.top) & (month < self.months) & allowed.any(1))
            if len(active) == 0:
                break
            so_far = pd.concat([history, *new_rows], ignore_index=True)
            arm, p = self._choose(persons.iloc[active], so_far, ids[active], step[active], r)
            # (persons, 2) row-major: a person's draws do not depend on how many come after
            uniform = np.random.default_rng([self.seed, r, round_no]).random((position[-1] + 1, 2))
            up_draw, step_draw = uniform[position[active]].T
            old = step[active]
            up = up_draw < p
            up_to = (step_draw[:, None] > self.reached[arm, old]).sum(axis=1)
            back = ~up & (step_draw < np.where(old > 0, self.back[old], 0.0))
            new = np.where(up, np.maximum(up_to, old + 1), np.where(back, old - 1, old))
            new = np.minimum(new, self.top)
            start = np.round(day[active]).astype(np.int64)
            end = start + np.round(self.days[arm]).astype(np.int64)
            np.add.at(starts, (region[active], arm, month[active]), 1.0)
            number[active] += 1
            new_rows.append(
                pd.DataFrame(
                    {
                        "person_id": ids[active],
                        "episode_no": number[active],
                        "intervention": self.codes[arm],
                        "start_day": start,
                        "end_day": end,
                        "hours": self.hours[arm],
                        "step_before": old,
                        "step_after": new,
                    }
                )
            )
            done[active, arm] = True
            step[active] = new
            day[active] = end + self.gap
            leave_day[active[new >= self.top]] = end[new >= self.top]
        month_start = first_day[:, None] + DAYS_PER_MONTH * np.arange(self.months)[None, :]
        still = (month_start < leave_day[:, None]).astype(float)
        enrolled = np.zeros((len(self.region_codes), self.months))
        np.add.at(enrolled, region, still)
        return starts, enrolled

    def _choose(self, persons, history, ids, step, r):
        """The plan's first intervention of each active person and its progress probability
        under rollout r's half-sample."""
        history = history[history["person_id"].isin(ids)]
        plans = self.planner.search(persons, history, current_step=step)
        arm = pd.Index(self.codes).get_indexer(plans.interventions[:, 0])
        p = plans.p_progress[:, 0]
        if self.model.n_bags >= 2:
            points = next_decision_points_for(self.model, persons, history, current_step=step)
            draws = self.model.draws(self.model.encode(points.features))
            p = draws[r % len(draws), np.arange(len(arm)), arm]
        return arm, p


def _today_rates(model, persons, episodes) -> np.ndarray:
    """(regions, interventions of the catalogue): recorded starts per enrolled person-month."""
    catalogue = model.catalogue_
    regions = pd.Index(catalogue.region_codes)
    last_end = episodes.groupby("person_id")["end_day"].max()
    until = (
        persons["exit_day"]
        .astype("Float64")
        .fillna(persons["person_id"].map(last_end).astype("Float64"))
    )
    exposure = np.bincount(
        regions.get_indexer(persons["region"]),
        weights=until.fillna(0).to_numpy(float) / DAYS_PER_MONTH,
        minlength=len(regions),
    )
    region_of = persons.set_index("person_id")["region"]
    r = regions.get_indexer(episodes["person_id"].map(region_of))
    a = pd.Index(catalogue.intervention_codes).get_indexer(episodes["intervention"])
    counts = np.zeros((len(regions), len(catalogue.intervention_codes)))
    np.add.at(counts, (r, a), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(exposure[:, None] > 0, counts / exposure[:, None], 0.0)


def _table(model, starts, today, level) -> pd.DataFrame:
    # a learner's arms are its catalogue's interventions, in the catalogue's order
    catalogue = model.catalogue_
    mean = starts.mean(axis=0)
    rows = []
    for r, a in zip(*np.nonzero(catalogue.availability_matrix()), strict=True):
        for m in range(starts.shape[-1]):
            centre = float(mean[r, a, m])
            lo, hi = _interval(centre, list(starts[:, r, a, m]), level)
            rows.append(
                {
                    "region": catalogue.region_codes[r],
                    "intervention": catalogue.intervention_codes[a],
                    "month": m + 1,
                    "expected_starts": centre,
                    "lower": max(lo, 0.0) if np.isfinite(lo) else lo,
                    "upper": hi,
                    "today_starts": float(today[r, a, m]),
                }
            )
    table = pd.DataFrame(rows)
    table["mark"] = np.select(
        [table["lower"] > table["today_starts"], table["upper"] < table["today_starts"]],
        ["need more", "superfluous"],
        "",
    )
    return table


def _enrolled_table(catalogue, enrolled) -> pd.DataFrame:
    regions, months = enrolled.shape
    return pd.DataFrame(
        {
            "region": np.repeat(catalogue.region_codes, months),
            "month": np.tile(np.arange(1, months + 1), regions),
            "persons": enrolled.reshape(-1),
        }
    )

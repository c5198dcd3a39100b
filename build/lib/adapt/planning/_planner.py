"""k-step plans: which interventions, in which order, with the fitted learner as transition model.

A plan is a fixed sequence of k interventions. After each planned episode the person's step goes
up with the learner's estimated probability, back with the estimated step-back rate, else stays;
the planned intervention and its outcome join the history the next estimate sees. The value of a
plan is the exact expectation over those step outcomes (every branch is kept, weighted by its
probability).

The search is a beam search in two passes. The screen keeps the `beam_width` best prefixes per
person at each position, estimating with one of the learner's models (`screening_estimate`) and
folding step outcomes under `SCREEN_MERGE` into their likeliest sibling; its `beam_width` plans
per person are then valued exactly with the full estimate, and the best is the plan. Each
branch's features are the decision before's, updated by the planned episode (`NextRows`), and
branches that read alike are estimated once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapt.contract import (
    CHUNK_PERSONS,
    EPISODE_COLUMNS,
    by_person_chunks,
    map_person_chunks,
    validate_tables,
)
from adapt.features import feature_settings, next_decision_points_for, next_decision_values
from adapt.models import Encoded
from adapt.planning._next_rows import Carry, NextRows, Running, recorded_carry
from adapt.planning._transitions import StepTransitions

OBJECTIVES = ("steps", "reach")
SEARCHES = ("auto", "screened", "exact")
# `auto` screens a learner fitted on at least this many decision points (about 20,000 persons),
# and searches exactly below: on fewer, one half-sample model strays too far from the bags'
# mean to screen with (2,000 persons: closure 0.57 screened against 0.64 exact; 20,000: 0.78
# and 0.78; benchmarks/results/plan_speed.md).
SCREEN_MIN_ROWS = 40_000
MAX_K = 5
# Ranks prefixes under the `reach` objective before the target can be reached: a step nearer
# the target is worth a little, never as much as reaching it.
REACH_TIEBREAK = 1e-3
# Screening merges a step outcome less likely than this (within its beam) into its likeliest
# sibling; the finalists are valued with every outcome.
SCREEN_MERGE = 0.05


@dataclass
class Plans:
    """The best plan of each person: codes, the model's estimate and the expected step after
    each position, and the plan's value under the objective."""

    interventions: np.ndarray  # (persons, k) codes
    p_progress: np.ndarray  # (persons, k)
    expected_step: np.ndarray  # (persons, k)
    value: np.ndarray  # (persons,)


class Planner:
    """Plans the next k interventions of each person with a fitted learner.

    Parameters
    ----------
    model : fitted adapt learner
        Any learner of `adapt.models`; it gives the progression probability of every offered
        intervention given the history.
    transitions : StepTransitions
        Step-back rates and typical episode lengths.
    k : int
        Plan length, 1..5.
    objective : {"steps", "reach"}
        Expected steps gained over the k episodes, or the probability of standing on
        `target_step` (or higher) at some point within them.
    target_step : int
        The step the `reach` objective aims at.
    beam_width : int
        Prefixes kept per person at each position of the screen, and plans per person valued
        exactly at the end (1: greedy chaining).
    max_history : int
        Longest recorded history accepted, in episodes.
    search : {"auto", "screened", "exact"}
        ``screened`` (see the module), ``exact``: the beam search itself with the full estimate
        and every branch, several times slower, or ``auto``: screened where the estimate is
        one model or the learner saw at least `SCREEN_MIN_ROWS` decision points, else exact
        (measured in `benchmarks/bench_plan_speed.py`).
    """

    def __init__(
        self,
        model,
        transitions: StepTransitions,
        k: int = 3,
        objective: str = "steps",
        target_step: int = 3,
        beam_width: int = 4,
        max_history: int = 50,
        search: str = "auto",
    ):
        self.model, self.transitions = model, transitions
        self.catalogue = model.catalogue_
        _check_int("k", k, 1, MAX_K)
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
        _check_int("target_step", target_step, 1, self.catalogue.max_step)
        _check_int("beam_width", beam_width, 1, 1000)
        _check_int("max_history", max_history, 1, 10_000)
        self.k, self.objective, self.target_step = k, objective, target_step
        self.beam_width, self.max_history = beam_width, max_history
        if search not in SEARCHES:
            raise ValueError(f"search must be one of {SEARCHES}, got {search!r}")
        self.search_mode = search
        codes = list(model.interventions_)
        self._codes = np.asarray(codes, dtype=object)
        self._repeatable = np.array([self.catalogue.interventions[c].repeatable for c in codes])
        self._days = np.array([transitions.days[c] for c in codes])
        self._hours = np.array([transitions.hours[c] for c in codes])
        self._back = np.asarray(transitions.back_rate, dtype=float)
        self._progress_to = transitions.progress_matrix(codes)  # (arm, step, step reached)
        steps = np.arange(self._progress_to.shape[-1])
        self._gain_if_up = (self._progress_to * (steps[None, None, :] - steps[None, :, None])).sum(
            axis=2
        )
        self._reach_if_up = self._progress_to[:, :, steps >= target_step].sum(axis=2)

    # -- public -----------------------------------------------------------------------------------
    def plan(
        self,
        persons: pd.DataFrame,
        episodes: pd.DataFrame,
        chunk_size: int = CHUNK_PERSONS,
        progress=None,
        engine=None,
    ) -> pd.DataFrame:
        """One row per person and position: person_id, position, intervention, p_progress,
        expected_step. Each plan starts after the person's last recorded episode (its
        ``step_after``; step 0 with no episode yet). The tables must meet the data contract.
        Persons are planned `chunk_size` at a time (memory follows the chunk, the plans do
        not depend on it); `progress`, if given, is called with each chunk's number of persons.
        With `engine` (`adapt.engines`) the chunks are planned on its workers, with the same
        plans.
        """
        self._check_tables(persons, episodes)
        return by_person_chunks(self._table, persons, episodes, chunk_size, progress, engine)

    def _table(self, persons: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
        plans = self.search(persons, episodes)
        n = len(persons)
        return pd.DataFrame(
            {
                "person_id": np.repeat(persons["person_id"].to_numpy(), self.k),
                "position": np.tile(np.arange(1, self.k + 1), n),
                "intervention": plans.interventions.reshape(-1),
                "p_progress": plans.p_progress.reshape(-1),
                "expected_step": plans.expected_step.reshape(-1),
            }
        )

    def policy(self):
        """A closed-loop policy for `Oracle` rollouts: re-plan after every episode and take the
        plan's first intervention (`batch.position` says how many of the k are left)."""

        def replan(batch) -> np.ndarray:
            position = getattr(batch, "position", None)
            left = self.k if position is None else self.k - int(np.max(position)) + 1
            plans = self.search(batch.persons, batch.history, batch.step, k=max(left, 1))
            return plans.interventions[:, 0]

        return replan

    # -- search -----------------------------------------------------------------------------------
    def search(self, persons, episodes, current_step=None, k: int | None = None) -> Plans:
        """Beam search over plans of length `k` (default `self.k`) for every person."""
        history = _Histories(persons, episodes, self.catalogue)
        return self._search(history, current_step, k)

    def search_one(
        self, person: dict, episodes: list[dict], current_step=None, day=None, k=None
    ) -> Plans:
        """`search` for one person given as plain values (a persons-contract row as a dict, the
        episodes in order as dicts), without pandas: what a live request needs. The plan starts
        on `day` (default: the last episode's end). With ``search="auto"`` and an estimate of
        one model the search is exact: for one person one pass costs less than screening and
        valuing (3.5 against 4.6 ms), and it is the better plan."""
        history = _OneHistory(person, episodes, self.catalogue, day)
        exact = self.search_mode == "auto" and self.model.screens_exactly
        step = None if current_step is None else [current_step]
        return self._search(history, step, k, screened=False if exact else None)

    def first_values(
        self,
        persons: pd.DataFrame,
        episodes: pd.DataFrame,
        chunk_size: int = CHUNK_PERSONS,
        progress=None,
        engine=None,
    ) -> np.ndarray:
        """(persons, interventions of the model): the value under the objective of the best
        plan that starts with each intervention, NaN where none can (not offered, or done and
        not repeatable). What a place is worth to a person when its plan goes on after it."""
        self._check_tables(persons, episodes)
        parts = map_person_chunks(
            self._chunk_first_values, persons, episodes, chunk_size, progress, engine
        )
        return np.concatenate(parts)

    def _chunk_first_values(self, persons, episodes) -> np.ndarray:
        return self._first_values(_Histories(persons, episodes, self.catalogue))

    def _first_values(self, history) -> np.ndarray:
        start = history.last_step
        root = history.root(self.model, start)
        rows = self._next_rows(root.values.columns)
        offered = self.catalogue.availability_matrix()[root.region_index]
        person, arm = np.nonzero(offered & ~(~self._repeatable & root.done))
        plans = np.full((len(person), self.k), -1)
        plans[:, 0] = arm
        if self._screened():
            screened = self._beam(
                root,
                start,
                self.k,
                rows,
                self.model.screening_estimate,
                self.beam_width,
                SCREEN_MERGE,
                fixed=(person, plans),
            )
            beams = self._beam(
                root,
                start,
                self.k,
                rows,
                self.model.estimate,
                1,
                0.0,
                (screened.person, screened.plan),
            )
            unit = screened.unit[beams.unit]
        else:
            beams = self._beam(
                root,
                start,
                self.k,
                rows,
                self.model.estimate,
                self.beam_width,
                0.0,
                (person, plans),
            )
            unit = beams.unit
        best = np.full(len(person), -np.inf)
        np.maximum.at(best, unit, self._final_value(beams))
        out = np.full((len(start), len(self._codes)), np.nan)
        out[person, arm] = best
        return out

    def _search(self, history, current_step, k, screened=None) -> Plans:
        k = self.k if k is None else k
        start = history.last_step if current_step is None else np.asarray(current_step, np.int64)
        root = history.root(self.model, start)
        rows = self._next_rows(root.values.columns)
        if not (self._screened() if screened is None else screened):
            exact = self._beam(root, start, k, rows, self.model.estimate, self.beam_width, 0.0)
            return self._best(exact)
        # Screen with one model, merging unlikely branches; the finalists' plans are then valued
        # exactly with the full estimate (every branch) and the best of them kept.
        screened = self._beam(
            root, start, k, rows, self.model.screening_estimate, self.beam_width, SCREEN_MERGE
        )
        exact = self._beam(
            root,
            start,
            k,
            rows,
            self.model.estimate,
            1,
            0.0,
            fixed=(screened.person, screened.plan),
        )
        return self._best(exact)

    def _best(self, beams: _Beams) -> Plans:
        """Each person's best plan among `beams`."""
        value = self._final_value(beams)
        best = _top_per_person(beams.person, value[:, None], 1)[0]
        best = best[np.argsort(beams.person[best], kind="stable")]
        return Plans(
            interventions=self._codes[beams.plan[best]],
            p_progress=beams.p[best],
            expected_step=beams.expected_step[best],
            value=value[best],
        )

    def _screened(self) -> bool:
        if self.search_mode != "auto":
            return self.search_mode == "screened"
        return self.model.screens_exactly or self.model.n_fit_rows_ >= SCREEN_MIN_ROWS

    def _next_rows(self, columns) -> NextRows:
        families = [self.catalogue.interventions[c].family for c in self._codes]
        return NextRows(
            columns,
            self.model.categories_,
            list(self._codes),
            families,
            self._days,
            self._hours,
            self.transitions.gap_days,
        )

    def _beam(self, root, start, k, next_rows, estimate, width, merge, fixed=None) -> _Beams:
        """Beam search with `estimate`, keeping `width` prefixes per unit (a person, or with
        `fixed` = (persons, plans) one given plan each, -1 where a position is free); branches
        under `merge` join their likeliest sibling."""
        n_arms = len(self._codes)
        person = np.arange(len(start)) if fixed is None else fixed[0]
        offered = self.catalogue.availability_matrix()[root.region_index]
        done = root.done
        branch = _Branches.start(person, start, root, self.target_step)
        beam = _Beams.start(person, reached=branch.reached.astype(float))
        for t in range(k):
            allowed = offered[beam.person] & ~(
                ~self._repeatable & (done[beam.person] | beam.contains(n_arms))
            )
            if fixed is not None:  # -1: this position is free
                want = fixed[1][beam.unit, t][:, None]
                allowed &= (want < 0) | (np.arange(n_arms)[None, :] == want)
            p = self._estimates(estimate, branch, allowed[branch.beam], root.values.columns)
            gain, reach = self._gains(p, branch)
            weight = branch.weight[:, None]
            score_now = _sum_by(branch.beam, weight * gain, len(beam))
            reached_now = _sum_by(branch.beam, weight * reach, len(beam))
            candidate = self._rank(beam, score_now, reached_now, allowed, last=t == k - 1)
            chosen_beam, chosen_arm = _top_per_person(beam.unit, candidate, width)
            # The model's estimate at this position: its mean over the step outcomes so far.
            mean_p = _sum_by(branch.beam, weight * np.nan_to_num(p), len(beam)) / _sum_by(
                branch.beam, weight, len(beam)
            )
            branch = branch.expand(
                chosen_beam,
                chosen_arm,
                p,
                self._back,
                self._progress_to,
                self.target_step,
                next_rows if t < k - 1 else None,
                beam.person[chosen_beam],
                root.running,
                merge,
            )
            beam = beam.extend(
                chosen_beam,
                chosen_arm,
                score=beam.score[chosen_beam] + score_now[chosen_beam, chosen_arm],
                reached=beam.reached[chosen_beam] + reached_now[chosen_beam, chosen_arm],
                p=mean_p[chosen_beam, chosen_arm],
                expected_step=_sum_by(branch.beam, branch.weight * branch.step, len(chosen_beam)),
            )
        return beam

    def _estimates(self, estimate, branch, wanted, columns) -> np.ndarray:
        """`estimate` for every branch (rows) and wanted intervention (columns); rows with the
        same features are estimated once."""
        values = np.ascontiguousarray(branch.values)
        _, first, inverse = np.unique(
            values.view(np.dtype((np.void, values.dtype.itemsize * values.shape[1]))),
            return_index=True,
            return_inverse=True,
        )
        inverse = inverse.reshape(-1)
        n_arms = wanted.shape[1]
        cells = (inverse[:, None] * n_arms + np.arange(n_arms)).reshape(-1)
        wanted_once = np.bincount(cells, weights=wanted.reshape(-1), minlength=len(first) * n_arms)
        wanted_once = wanted_once.reshape(len(first), n_arms) > 0
        p = estimate(Encoded(values[first], columns), where=wanted_once)[inverse]
        # Nobody climbs above the top of the ladder.
        return np.where(branch.step[:, None] >= self.catalogue.max_step, 0.0, p)

    def _gains(self, p, branch):
        p = np.nan_to_num(p)
        back = _back_rate(self._back, branch.step)
        gain = p * self._gain_if_up[:, branch.step].T - (1 - p) * back[:, None]
        reach = (~branch.reached)[:, None] * p * self._reach_if_up[:, branch.step].T
        return gain, reach

    def _rank(self, beam, score_now, reached_now, allowed, last: bool) -> np.ndarray:
        if self.objective == "steps":
            value = beam.score[:, None] + score_now
        else:
            value = beam.reached[:, None] + reached_now
            if not last:
                value = value + REACH_TIEBREAK * (beam.score[:, None] + score_now)
        return np.where(allowed, value, -np.inf)

    def _final_value(self, beam) -> np.ndarray:
        return beam.score if self.objective == "steps" else beam.reached

    def _check_tables(self, persons: pd.DataFrame, episodes: pd.DataFrame) -> None:
        validate_tables(persons, episodes, catalogue=self.catalogue)
        self._check_history(episodes)
        check_seen_regions(self.model, persons)

    def _check_history(self, episodes: pd.DataFrame) -> None:
        longest = episodes.groupby("person_id").size()
        over = longest[longest > self.max_history]
        if len(over):
            raise ValueError(
                f"episodes: persons {over.index[:5].tolist()} have histories of up to "
                f"{int(over.max())} episodes; the planner accepts at most {self.max_history} "
                "(max_history)"
            )


@dataclass
class _Beams:
    """Plan prefixes kept so far, several per unit (a person, or one plan being valued)."""

    unit: np.ndarray
    person: np.ndarray
    plan: np.ndarray  # (beams, t) arm indices
    score: np.ndarray  # expected steps gained so far
    reached: np.ndarray  # probability of having reached the target
    p: np.ndarray  # (beams, t)
    expected_step: np.ndarray  # (beams, t)

    @classmethod
    def start(cls, person: np.ndarray, reached: np.ndarray) -> _Beams:
        n = len(person)
        empty = np.zeros((n, 0))
        return cls(np.arange(n), person, empty.astype(np.int64), np.zeros(n), reached, empty, empty)

    def __len__(self) -> int:
        return len(self.person)

    def contains(self, n_arms: int) -> np.ndarray:
        out = np.zeros((len(self), n_arms), bool)
        for column in self.plan.T:
            out[np.arange(len(self)), column] = True
        return out

    def extend(self, rows, arms, score, reached, p, expected_step) -> _Beams:
        return _Beams(
            self.unit[rows],
            self.person[rows],
            np.column_stack([self.plan[rows], arms]),
            score,
            reached,
            np.column_stack([self.p[rows], p]),
            np.column_stack([self.expected_step[rows], expected_step]),
        )


@dataclass
class _Root:
    """Each person's next decision: its encoded features and what planned episodes change."""

    values: Encoded
    carry: Carry
    running: Running
    region_index: np.ndarray
    done: np.ndarray  # (persons, arms): interventions in the recorded history


@dataclass
class _Branches:
    """Step outcomes of a beam's planned episodes so far, each with its probability and the
    encoded features of the decision that follows."""

    beam: np.ndarray
    weight: np.ndarray
    step: np.ndarray
    reached: np.ndarray
    values: np.ndarray  # (branches, features)
    carry: Carry

    @classmethod
    def start(cls, person, step, root: _Root, target: int) -> _Branches:
        step = np.asarray(step, np.int64)[person]
        return cls(
            np.arange(len(person)),
            np.ones(len(person)),
            step,
            step >= target,
            root.values.values[person],
            root.carry.take(person),
        )

    def expand(
        self,
        chosen_beam,
        chosen_arm,
        p,
        back_rate,
        progress_to,
        target,
        next_rows,
        person_of_pair,
        running,
        merge,
    ) -> _Branches:
        """Every branch of each chosen beam, continued by its chosen intervention: up (to each
        step a progression may reach), back or staying. Outcomes less likely than `merge`
        (within their beam) join their likeliest sibling. Without `next_rows` the branches'
        features are not needed and not computed."""
        branch, pair = _branches_of(self.beam, chosen_beam)
        step = self.step[branch]
        up = np.nan_to_num(p[branch, chosen_arm[pair]])
        back = _back_rate(back_rate, step)
        reached_if_up = progress_to[chosen_arm[pair], step]  # (rows, steps)
        n_steps = len(back_rate)
        weight = (
            np.column_stack([up[:, None] * reached_if_up, (1 - up) * back, (1 - up) * (1 - back)])
            * self.weight[branch][:, None]
        )
        new_step = np.column_stack(
            [np.broadcast_to(np.arange(n_steps), (len(step), n_steps)), step - 1, step]
        )
        if merge > 0:
            weight = _merged(weight, merge)
        parent, outcome = np.nonzero(weight > 0)
        step_after = new_step[parent, outcome]
        rows = branch[parent]
        if next_rows is None:
            values, carry = self.values[:0], self.carry.take(slice(0, 0))
        else:
            values, carry = next_rows.apply(
                self.values[rows],
                self.carry.take(rows),
                person_of_pair[pair[parent]],
                chosen_arm[pair[parent]],
                step_after,
                running,
            )
        return _Branches(
            pair[parent],
            weight[parent, outcome],
            step_after,
            self.reached[rows] | (step_after >= target),
            values,
            carry,
        )


def _merged(weight: np.ndarray, below: float) -> np.ndarray:
    """Outcome weights (branches, outcomes) with each branch's outcomes under `below` added to
    its likeliest outcome."""
    small = (weight > 0) & (weight < below)
    if not small.any():
        return weight
    likeliest = np.argmax(weight, axis=1)
    out = np.where(small, 0.0, weight)
    out[np.arange(len(weight)), likeliest] += np.where(small, weight, 0.0).sum(axis=1)
    return out


def _branches_of(beam_of_branch: np.ndarray, chosen_beam: np.ndarray):
    """Every (branch, pair) with ``beam_of_branch[branch] == chosen_beam[pair]``, ordered by
    branch, then pair."""
    size = max(int(beam_of_branch.max(initial=-1)), int(chosen_beam.max(initial=-1))) + 1
    order = np.argsort(beam_of_branch, kind="stable")
    counts = np.bincount(beam_of_branch, minlength=size)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    per_pair = counts[chosen_beam]
    pair = np.repeat(np.arange(len(chosen_beam)), per_pair)
    offset = np.arange(per_pair.sum()) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    branch = order[np.repeat(first[chosen_beam], per_pair) + offset]
    ordered = np.lexsort((pair, branch))
    return branch[ordered], pair[ordered]


class _Histories:
    """Recorded histories of many persons (contract tables)."""

    def __init__(self, persons: pd.DataFrame, episodes: pd.DataFrame, catalogue):
        self.persons = persons.reset_index(drop=True)
        ids = self.persons["person_id"].to_numpy()
        ep = episodes[list(EPISODE_COLUMNS)].copy()
        ep["_row"] = pd.Index(ids).get_indexer(ep["person_id"])
        if (ep["_row"] < 0).any():
            missing = ep.loc[ep["_row"] < 0, "person_id"].unique()[:5].tolist()
            raise ValueError(f"episodes name persons that the persons table lacks: {missing}")
        self.episodes = ep.sort_values(["_row", "episode_no"], kind="stable").reset_index(drop=True)
        rows = self.episodes["_row"].to_numpy()
        count = np.bincount(rows, minlength=len(ids))
        last = np.r_[0, np.cumsum(count)[:-1]] + count - 1
        has = count > 0
        self.last_step = np.zeros(len(ids), np.int64)
        self.last_end = np.zeros(len(ids), np.int64)
        self.last_step[has] = self.episodes["step_after"].to_numpy()[last[has]]
        self.last_end[has] = self.episodes["end_day"].to_numpy()[last[has]]
        self.region_index = pd.Index(catalogue.region_codes).get_indexer(self.persons["region"])
        if (self.region_index < 0).any():
            bad = self.persons.loc[self.region_index < 0, "region"].unique()[:5].tolist()
            raise ValueError(f"persons.region has regions the catalogue does not know: {bad}")

    def root(self, model, start) -> _Root:
        points = next_decision_points_for(model, self.persons, self.episodes, current_step=start)
        ep = self.episodes
        arm = pd.Index(model.interventions_).get_indexer(ep["intervention"])
        carry, running = recorded_carry(
            ep["_row"].to_numpy(),
            arm,
            *(ep[c].to_numpy(float) for c in ("end_day", "hours")),
            *(ep[c].to_numpy(np.int64) for c in ("step_before", "step_after")),
            len(self.persons),
            self.last_end.astype(float),
        )
        done = np.zeros((len(self.persons), len(model.interventions_)), bool)
        done[ep["_row"].to_numpy()[arm >= 0], arm[arm >= 0]] = True
        return _Root(model.encode(points.features), carry, running, self.region_index, done)


class _OneHistory:
    """One person's recorded history as plain values; `_Histories`' interface without pandas."""

    def __init__(self, person: dict, episodes: list[dict], catalogue, day=None):
        self.person, self.episodes, self.catalogue = person, list(episodes), catalogue
        last = self.episodes[-1] if self.episodes else None
        self.last_step = np.array([last["step_after"] if last else 0], np.int64)
        self.start_day = float(day if day is not None else (last["end_day"] if last else 0))
        self.day = day
        self.region_index = np.array([catalogue.region_codes.index(person["region"])])

    def root(self, model, start) -> _Root:
        codes = list(model.interventions_)
        row = next_decision_values(
            self.person,
            self.episodes,
            current_step=int(start[0]),
            day=self.day,
            **feature_settings(model),
        )
        ep = self.episodes
        arm = np.array(
            [codes.index(e["intervention"]) if e["intervention"] in codes else -1 for e in ep],
            np.int64,
        )
        columns = {c: np.array([e[c] for e in ep], float) for c in ("end_day", "hours")}
        steps = {c: np.array([e[c] for e in ep], np.int64) for c in ("step_before", "step_after")}
        carry, running = recorded_carry(
            np.zeros(len(ep), np.int64),
            arm,
            columns["end_day"],
            columns["hours"],
            steps["step_before"],
            steps["step_after"],
            1,
            np.array([self.start_day]),
        )
        done = np.array([[c in {e["intervention"] for e in ep} for c in codes]])
        return _Root(model.encode_values([row]), carry, running, self.region_index, done)


def check_seen_regions(model, persons: pd.DataFrame) -> None:
    """Refuses persons of regions `model` never saw, naming them: it cannot estimate there."""
    seen = model.seen_regions_
    unseen = ~persons["region"].astype(str).isin(seen).to_numpy()
    if unseen.any():
        raise ValueError(
            f"persons.region: the model never saw {sorted(set(persons['region'][unseen]))} "
            f"(persons {persons['person_id'][unseen].head(5).tolist()}); it cannot plan "
            "for them"
        )


def _top_per_person(person: np.ndarray, value: np.ndarray, width: int):
    """The `width` best (row, column) cells of `value` per person (ties: lowest index)."""
    rows, cols = np.nonzero(np.isfinite(value))
    if len(rows) == 0:
        raise ValueError("no intervention can be planned: the region offers none that is allowed")
    order = np.lexsort((cols, rows, -value[rows, cols], person[rows]))
    rows, cols = rows[order], cols[order]
    who = person[rows]
    rank = np.arange(len(rows)) - np.searchsorted(who, who, side="left")
    keep = rank < width
    missing = np.setdiff1d(np.unique(person), who)
    if len(missing):
        raise ValueError(
            f"no intervention can be planned for persons at rows {missing[:10].tolist()}: "
            "everything their region offers is used up (not repeatable)"
        )
    return rows[keep], cols[keep]


def _sum_by(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Sums of `values` rows per `index` (0..size-1); a column vector when `values` is 2-D."""
    if np.ndim(values) == 1:
        return np.bincount(index, weights=values, minlength=size)
    width = values.shape[1]
    cells = (index[:, None] * width + np.arange(width)).reshape(-1)
    return np.bincount(cells, weights=values.reshape(-1), minlength=size * width).reshape(
        size, width
    )


def _back_rate(rates, step: np.ndarray) -> np.ndarray:
    rates = np.asarray(rates, dtype=float)
    return np.where(step > 0, rates[np.clip(step, 0, len(rates) - 1)], 0.0)


def _check_int(name: str, value, low: int, high: int) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or not low <= value <= high
    ):
        raise ValueError(f"{name} must be an integer from {low} to {high}, got {value!r}")

"""k-step plans: which interventions, in which order, with the fitted learner as transition model.

A plan is a fixed sequence of k interventions. After each planned episode the person's step goes
up with the learner's estimated probability, back with the estimated step-back rate, else stays;
the planned intervention and its outcome join the history the next estimate sees. The value of a
plan is the exact expectation over those step outcomes (every branch is kept, weighted by its
probability); beam search keeps the `beam_width` best prefixes per person at each position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapt.contract import EPISODE_COLUMNS, validate_tables
from adapt.features import feature_settings, next_decision_points_for, next_decision_values
from adapt.planning._transitions import StepTransitions

OBJECTIVES = ("steps", "reach")
MAX_K = 5
# Ranks prefixes under the `reach` objective before the target can be reached: a step nearer
# the target is worth a little, never as much as reaching it.
REACH_TIEBREAK = 1e-3


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
        Prefixes kept per person at each position (1: greedy chaining).
    max_history : int
        Longest recorded history accepted, in episodes.
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
    def plan(self, persons: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
        """One row per person and position: person_id, position, intervention, p_progress,
        expected_step. Each plan starts after the person's last recorded episode (its
        ``step_after``; step 0 with no episode yet). The tables must meet the data contract."""
        validate_tables(persons, episodes, catalogue=self.catalogue)
        self._check_history(episodes)
        self._check_regions(persons)
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
        on `day` (default: the last episode's end)."""
        history = _OneHistory(person, episodes, self.catalogue, day)
        return self._search(history, None if current_step is None else [current_step], k)

    def _search(self, history, current_step, k) -> Plans:
        k = self.k if k is None else k
        n, n_arms = len(history.last_step), len(self._codes)
        start = history.last_step if current_step is None else np.asarray(current_step, np.int64)
        offered = self.catalogue.availability_matrix()[history.region_index]
        done = history.done_matrix(self._codes)

        branch = _Branches.start(start, self.target_step)
        beam = _Beams.start(n, reached=branch.reached.astype(float))
        for t in range(k):
            p = self._estimates(history, beam, branch)
            gain, reach = self._gains(p, branch)
            weight = branch.weight[:, None]
            score_now = _sum_by(branch.beam, weight * gain, len(beam))
            reached_now = _sum_by(branch.beam, weight * reach, len(beam))
            allowed = offered[beam.person] & ~(
                ~self._repeatable & (done[beam.person] | beam.contains(n_arms))
            )
            candidate = self._rank(beam, score_now, reached_now, allowed, last=t == k - 1)
            chosen_beam, chosen_arm = _top_per_person(beam.person, candidate, self.beam_width)
            # The model's estimate at this position: its mean over the step outcomes so far.
            mean_p = _sum_by(branch.beam, weight * np.nan_to_num(p), len(beam)) / _sum_by(
                branch.beam, weight, len(beam)
            )
            branch = branch.expand(
                chosen_beam, chosen_arm, p, self._back, self._progress_to, self.target_step
            )
            beam = beam.extend(
                chosen_beam,
                chosen_arm,
                score=beam.score[chosen_beam] + score_now[chosen_beam, chosen_arm],
                reached=beam.reached[chosen_beam] + reached_now[chosen_beam, chosen_arm],
                p=mean_p[chosen_beam, chosen_arm],
                expected_step=_sum_by(branch.beam, branch.weight * branch.step, len(chosen_beam)),
            )
        best = _top_per_person(beam.person, self._final_value(beam)[:, None], 1)[0]
        order = np.argsort(beam.person[best])
        best = best[order]
        return Plans(
            interventions=self._codes[beam.plan[best]],
            p_progress=beam.p[best],
            expected_step=beam.expected_step[best],
            value=self._final_value(beam)[best],
        )

    def _estimates(self, history, beam, branch) -> np.ndarray:
        """The model's probabilities for every branch (rows) and intervention (columns)."""
        features = history.features(
            self.model,
            beam.person[branch.beam],
            beam.plan[branch.beam],
            branch.path,
            self._days,
            self._hours,
            self.transitions.gap_days,
            self._codes,
        )
        # the estimate alone (its half-sample draws average to it, and cost as much again)
        p = self.model.estimate(features)
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

    def _check_regions(self, persons: pd.DataFrame) -> None:
        seen = self.model.seen_regions_
        unseen = ~persons["region"].astype(str).isin(seen).to_numpy()
        if unseen.any():
            raise ValueError(
                f"persons.region: the model never saw {sorted(set(persons['region'][unseen]))} "
                f"(persons {persons['person_id'][unseen].head(5).tolist()}); it cannot plan "
                "for them"
            )

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
    """Plan prefixes kept so far, several per person."""

    person: np.ndarray
    plan: np.ndarray  # (beams, t) arm indices
    score: np.ndarray  # expected steps gained so far
    reached: np.ndarray  # probability of having reached the target
    p: np.ndarray  # (beams, t)
    expected_step: np.ndarray  # (beams, t)

    @classmethod
    def start(cls, n: int, reached: np.ndarray) -> _Beams:
        empty = np.zeros((n, 0))
        return cls(np.arange(n), empty.astype(np.int64), np.zeros(n), reached, empty, empty)

    def __len__(self) -> int:
        return len(self.person)

    def contains(self, n_arms: int) -> np.ndarray:
        out = np.zeros((len(self), n_arms), bool)
        for column in self.plan.T:
            out[np.arange(len(self)), column] = True
        return out

    def extend(self, rows, arms, score, reached, p, expected_step) -> _Beams:
        return _Beams(
            self.person[rows],
            np.column_stack([self.plan[rows], arms]),
            score,
            reached,
            np.column_stack([self.p[rows], p]),
            np.column_stack([self.expected_step[rows], expected_step]),
        )


@dataclass
class _Branches:
    """Step outcomes of a beam's planned episodes so far, each with its probability."""

    beam: np.ndarray
    weight: np.ndarray
    path: np.ndarray  # (branches, t + 1) steps: at the start and after each planned episode
    reached: np.ndarray

    @property
    def step(self) -> np.ndarray:
        return self.path[:, -1]

    @classmethod
    def start(cls, step: np.ndarray, target: int) -> _Branches:
        n = len(step)
        return cls(np.arange(n), np.ones(n), step[:, None].astype(np.int64), step >= target)

    def expand(self, chosen_beam, chosen_arm, p, back_rate, progress_to, target) -> _Branches:
        """Every branch of each chosen beam, continued by its chosen intervention: up (to each
        step a progression may reach), back or staying."""
        branch, pair = _branches_of(self.beam, chosen_beam)
        step = self.step[branch]
        up = np.nan_to_num(p[branch, chosen_arm[pair]])
        back = _back_rate(back_rate, step)
        reached_if_up = progress_to[chosen_arm[pair], step]  # (rows, steps)
        outcomes = [
            (up * reached_if_up[:, s], np.full_like(step, s)) for s in range(len(back_rate))
        ]
        outcomes += [((1 - up) * back, step - 1), ((1 - up) * (1 - back), step)]
        weight = np.concatenate([self.weight[branch] * w for w, _ in outcomes])
        new_step = np.concatenate([s for _, s in outcomes])
        rows = np.tile(branch, len(outcomes))
        keep = weight > 0
        path = np.column_stack([self.path[rows], new_step])[keep]
        return _Branches(
            np.tile(pair, len(outcomes))[keep],
            weight[keep],
            path,
            (self.reached[rows] | (new_step >= target))[keep],
        )


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
    """Recorded histories, and the same histories with planned episodes appended."""

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
        self.count = np.bincount(rows, minlength=len(ids))
        self.first = np.r_[0, np.cumsum(self.count)[:-1]]
        last = self.first + self.count - 1
        has = self.count > 0
        self.last_step = np.zeros(len(ids), np.int64)
        self.last_end = np.zeros(len(ids), np.int64)
        self.last_step[has] = self.episodes["step_after"].to_numpy()[last[has]]
        self.last_end[has] = self.episodes["end_day"].to_numpy()[last[has]]
        self.region_index = pd.Index(catalogue.region_codes).get_indexer(self.persons["region"])
        if (self.region_index < 0).any():
            bad = self.persons.loc[self.region_index < 0, "region"].unique()[:5].tolist()
            raise ValueError(f"persons.region has regions the catalogue does not know: {bad}")

    def features(self, model, person, plan, path, days, hours, gap, codes):
        """`model`'s encoded features of each branch's next decision (see `with_plans`)."""
        persons, episodes = self.with_plans(person, plan, path, days, hours, gap, codes)
        points = next_decision_points_for(model, persons, episodes, current_step=path[:, -1])
        return model.encode(points.features)

    def done_matrix(self, codes: np.ndarray) -> np.ndarray:
        done = np.zeros((len(self.persons), len(codes)), bool)
        arm = pd.Index(codes).get_indexer(self.episodes["intervention"])
        done[self.episodes["_row"].to_numpy()[arm >= 0], arm[arm >= 0]] = True
        return done

    def with_plans(self, person, plan, path, days, hours, gap, codes):
        """Persons and episodes tables of one pseudo-person per branch: the recorded history
        of `person`, then the planned interventions `plan` with the steps of `path`."""
        n = len(person)
        ids = np.arange(n)
        pseudo = self.persons.iloc[person].reset_index(drop=True).assign(person_id=ids)
        counts = self.count[person]
        take = np.repeat(self.first[person], counts) + (
            np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        )
        recorded = self.episodes.iloc[take][list(EPISODE_COLUMNS)].assign(
            person_id=np.repeat(ids, counts)
        )
        planned = []
        end = self.last_end[person].astype(float)
        for t in range(plan.shape[1]):
            arm = plan[:, t]
            # A new person's first episode starts on day 0, as at entry.
            start = np.where((counts == 0) & (t == 0), 0.0, end + gap)
            end = start + days[arm]
            planned.append(
                pd.DataFrame(
                    {
                        "person_id": ids,
                        "episode_no": counts + t + 1,
                        "intervention": codes[arm],
                        "start_day": np.rint(start).astype(np.int64),
                        "end_day": np.rint(end).astype(np.int64),
                        "hours": hours[arm],
                        "step_before": path[:, t],
                        "step_after": path[:, t + 1],
                    }
                )
            )
        return pseudo, pd.concat([recorded, *planned], ignore_index=True)


class _OneHistory:
    """One person's recorded history as plain values; `_Histories`' interface without pandas."""

    def __init__(self, person: dict, episodes: list[dict], catalogue, day=None):
        self.person, self.episodes, self.catalogue = person, list(episodes), catalogue
        last = self.episodes[-1] if self.episodes else None
        self.last_step = np.array([last["step_after"] if last else 0], np.int64)
        self.start_day = float(day if day is not None else (last["end_day"] if last else 0))
        self.day = day
        self.region_index = np.array([catalogue.region_codes.index(person["region"])])

    def done_matrix(self, codes: np.ndarray) -> np.ndarray:
        done = {e["intervention"] for e in self.episodes}
        return np.array([[c in done for c in codes]])

    def features(self, model, person, plan, path, days, hours, gap, codes):
        """Like `_Histories.features`: the planned episodes follow the recorded ones with the
        same days and hours (`_Histories.with_plans`), and the first decision is taken on the
        given day."""
        settings = feature_settings(model)
        rows = []
        for branch in range(len(person)):
            planned = []
            end = self.start_day
            for t in range(plan.shape[1]):
                arm = plan[branch, t]
                start = self.start_day if (not self.episodes and t == 0) else end + gap
                end = start + days[arm]
                planned.append(
                    {
                        "intervention": codes[arm],
                        "start_day": int(np.rint(start)),
                        "end_day": int(np.rint(end)),
                        "hours": float(hours[arm]),
                        "step_before": int(path[branch, t]),
                        "step_after": int(path[branch, t + 1]),
                    }
                )
            rows.append(
                next_decision_values(
                    self.person,
                    self.episodes + planned,
                    current_step=int(path[branch, -1]),
                    day=self.day if not planned else None,
                    **settings,
                )
            )
        return model.encode_values(rows)


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
    out = np.zeros((size, *np.shape(values)[1:]))
    np.add.at(out, index, values)
    return out


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

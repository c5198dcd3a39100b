"""Closed-loop rollouts of persons in the learner's world: the plans' or the caseworkers'.

Each round every active person starts one episode: the planner's first intervention (policy
``plan``) or one drawn from the learner's behaviour model, what caseworkers would choose
(``behaviour``). The episode progresses with rollout r's half-sample probability; where a
progression leads follows the step transitions, and without one the step falls back at the
estimated rate. Its length and hours are those of a recorded episode of that intervention drawn
at random, and the gap before the next one a recorded gap: the records' spread, not their
medians, so that as many episodes fit in a year as they do in the records.

A person's random numbers are drawn by (seed, rollout, round) and their position in the whole
population, so they do not depend on the chunk they are in, and both policies meet the same
numbers (common random numbers: their difference is measured with less noise).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.contract import EPISODE_COLUMNS
from adapt.features import next_decision_points_for

DAYS_PER_MONTH = 30.44
POLICIES = ("plan", "behaviour")
# up, step reached, episode drawn, gap drawn, the caseworkers' choice
_DRAWS = 5


class Rollouts:
    """Rollouts of chunks of persons under `planner` (or the behaviour model) for `months`."""

    def __init__(self, model, planner, transitions, episodes: pd.DataFrame, months: int, seed):
        self.model, self.planner, self.months, self.seed = model, planner, months, seed
        catalogue = model.catalogue_
        codes = list(model.interventions_)
        self.codes = np.asarray(codes, dtype=object)
        self.back = np.asarray(transitions.back_rate, dtype=float)
        self.reached = np.cumsum(transitions.progress_matrix(codes), axis=2)
        self.top = catalogue.max_step
        self.repeatable = np.array([catalogue.interventions[c].repeatable for c in codes])
        self.offered = catalogue.availability_matrix()[
            :, pd.Index(catalogue.intervention_codes).get_indexer(codes)
        ]
        self.region_codes = pd.Index(catalogue.region_codes)
        self._recorded_lengths(episodes, transitions)

    def _recorded_lengths(self, episodes, transitions) -> None:
        """Per intervention the recorded lengths and hours (its median ones when it has no
        record), and the recorded gaps between a person's episodes."""
        length = (episodes["end_day"] - episodes["start_day"]).to_numpy(float)
        arm = pd.Index(self.codes).get_indexer(episodes["intervention"])
        hours = episodes["hours"].to_numpy(float)
        self.lengths, self.hours = [], []
        for a, code in enumerate(self.codes):
            mine = np.flatnonzero(arm == a)
            order = mine[np.lexsort((hours[mine], length[mine]))]  # the same for any row order
            if len(order) == 0:
                self.lengths.append(np.array([transitions.days[code]]))
                self.hours.append(np.array([transitions.hours[code]]))
            else:
                self.lengths.append(length[order])
                self.hours.append(hours[order])
        ordered = episodes.sort_values(["person_id", "episode_no"], kind="stable")
        same = ordered["person_id"].to_numpy()[1:] == ordered["person_id"].to_numpy()[:-1]
        gaps = ordered["start_day"].to_numpy()[1:][same] - ordered["end_day"].to_numpy()[:-1][same]
        gaps = np.sort(np.maximum(gaps, 0).astype(float))
        self.gaps = gaps if len(gaps) else np.array([float(transitions.gap_days)])

    def run(self, persons, episodes, position, r, policy="plan", max_rounds=None):
        """(regions, arms, months) starts and (regions, months) enrolled persons of rollout r
        of `persons` (whose rows are `position` in the whole population); with `max_rounds`,
        at most that many episodes per person."""
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
        had = np.zeros(n, bool)
        had[row[at]] = True
        step[row[at]] = history["step_after"].to_numpy()[at]
        day[row[at]] = history["end_day"].to_numpy()[at]
        number[row[at]] = history["episode_no"].to_numpy()[at]
        done = np.zeros((n, len(self.codes)), bool)
        arm_of = pd.Index(self.codes).get_indexer(history["intervention"])
        done[row[arm_of >= 0], arm_of[arm_of >= 0]] = True
        first_day = None
        leave_day = np.full(n, np.inf)
        starts = np.zeros((len(self.region_codes), len(self.codes), self.months))
        new_rows = []
        for round_no in range(1000 if max_rounds is None else max_rounds):
            # (persons, draws) row-major: a person's draws do not depend on who comes after
            draw = np.random.default_rng([self.seed, r, round_no]).random(
                (position[-1] + 1, _DRAWS)
            )[position]
            gap = _pick(self.gaps, draw[:, 3])
            if round_no == 0:
                day = np.where(had, day + gap, day)  # the wait after the last recorded episode
                first_day = day.copy()
                leave_day[step >= self.top] = first_day[step >= self.top]  # at the top: left
            month = np.floor((day - first_day) / DAYS_PER_MONTH).astype(np.int64)
            allowed = self.offered[region] & ~(~self.repeatable & done)
            active = np.flatnonzero((step < self.top) & (month < self.months) & allowed.any(1))
            if len(active) == 0:
                break
            so_far = pd.concat([history, *new_rows], ignore_index=True)
            arm, p = self._choose(
                persons.iloc[active],
                so_far,
                ids[active],
                step[active],
                r,
                policy,
                draw[active, 4],
                allowed[active],
            )
            old = step[active]
            up = draw[active, 0] < p
            up_to = (draw[active, 1][:, None] > self.reached[arm, old]).sum(axis=1)
            back = ~up & (draw[active, 1] < np.where(old > 0, self.back[old], 0.0))
            new = np.minimum(
                np.where(up, np.maximum(up_to, old + 1), np.where(back, old - 1, old)), self.top
            )
            which = [
                _index(len(self.lengths[a]), u) for a, u in zip(arm, draw[active, 2], strict=True)
            ]
            length = np.array([self.lengths[a][i] for a, i in zip(arm, which, strict=True)])
            hours = np.array([self.hours[a][i] for a, i in zip(arm, which, strict=True)])
            start = np.round(day[active]).astype(np.int64)
            end = start + np.round(length).astype(np.int64)
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
                        "hours": hours,
                        "step_before": old,
                        "step_after": new,
                    }
                )
            )
            done[active, arm] = True
            step[active] = new
            day[active] = end + gap[active]
            reached_top = new >= self.top
            leave_day[active[reached_top]] = end[reached_top]
        month_start = first_day[:, None] + DAYS_PER_MONTH * np.arange(self.months)[None, :]
        still = (month_start < leave_day[:, None]).astype(float)
        enrolled = np.zeros((len(self.region_codes), self.months))
        np.add.at(enrolled, region, still)
        return starts, enrolled

    def _choose(self, persons, history, ids, step, r, policy, uniform, allowed):
        """Each active person's intervention under `policy` and its progress probability
        under rollout r's half-sample."""
        history = history[history["person_id"].isin(ids)]
        points = next_decision_points_for(self.model, persons, history, current_step=step)
        encoded = self.model.encode(points.features)
        if policy == "plan":
            plans = self.planner.search(persons, history, current_step=step)
            arm = pd.Index(self.codes).get_indexer(plans.interventions[:, 0])
        else:
            chance = np.where(allowed, np.nan_to_num(self.model.behaviour(encoded)), 0.0)
            chance = np.where(chance.sum(1, keepdims=True) > 0, chance, allowed.astype(float))
            cumulative = np.cumsum(chance / chance.sum(1, keepdims=True), axis=1)
            arm = np.minimum((uniform[:, None] > cumulative).sum(axis=1), len(self.codes) - 1)
        rows = np.arange(len(arm))
        if self.model.n_bags >= 2:
            draws = self.model.draws(encoded)
            return arm, draws[r % len(draws), rows, arm]
        return arm, self.model.estimate(encoded)[rows, arm]


def _index(size: int, uniform: float) -> int:
    return min(int(uniform * size), size - 1)


def _pick(sorted_values: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """A value drawn from `sorted_values` per uniform number (the empirical distribution)."""
    at = np.minimum((uniform * len(sorted_values)).astype(np.int64), len(sorted_values) - 1)
    return sorted_values[at]

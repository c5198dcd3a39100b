"""The next decision's encoded features after a planned episode, from the decision before.

Rebuilding every branch's history and running the feature pipeline on it costs more than the
trees; a planned episode changes a handful of columns in a known way (its counts and hours,
the step, the day, the last intervention and, for the ordered history, the lags and the time
on the step). `NextRows` applies exactly those changes to encoded rows. The feature pipeline
stays the definition: tests check the two agree on every column (`tests/test_planning.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Carry:
    """What the next row needs beyond the row itself, one entry per branch."""

    end: np.ndarray  # unrounded end of the last planned episode (the recorded end at first)
    fresh: np.ndarray  # no episode yet: the first one starts on the decision day, no gap
    day: np.ndarray  # the decision day of the row
    since: np.ndarray  # the day the step last changed (0: never)
    changed: np.ndarray  # a planned episode changed the step

    def take(self, rows) -> Carry:
        return Carry(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))


@dataclass
class Running:
    """Recorded episodes still running on the first decision day: their hours become known on
    a later one. Flat, sorted by person."""

    person: np.ndarray
    arm: np.ndarray
    end: np.ndarray
    hours: np.ndarray
    after_change: np.ndarray  # after the last recorded step change (counted on the step)


def recorded_carry(person, arm, end, hours, before, after, n_persons, day):
    """`Carry` and `Running` of each person's first planned decision, from their recorded
    episodes given as flat arrays sorted by person and episode (`arm` -1 where the model does
    not know the intervention) and the decision `day` of each person."""
    day = np.asarray(day, dtype=float)
    end = np.asarray(end, dtype=float)
    has = np.bincount(person, minlength=n_persons) > 0
    last = np.full(n_persons, -1)
    last[person] = np.arange(len(person))  # the last row of each person wins
    last_change = np.full(n_persons, -1)
    changed_rows = np.flatnonzero(after != before)
    last_change[person[changed_rows]] = changed_rows
    padded = np.r_[end, 0.0]  # index -1: no such row
    base_end = np.where(has, padded[last], day)
    since = np.where(last_change >= 0, padded[last_change], 0.0)
    # The next decision is taken on `day`; a plan starts from it (the recorded end by default).
    carry = Carry(
        end=np.maximum(base_end, day).astype(float),
        fresh=~has,
        day=day,
        since=since,
        changed=np.zeros(n_persons, bool),
    )
    running = np.flatnonzero(end > day[person])
    return carry, Running(
        person[running],
        arm[running],
        end[running].astype(float),
        hours[running].astype(float),
        running > last_change[person[running]],
    )


class NextRows:
    """Applies a planned episode to encoded next-decision rows of a model.

    Parameters
    ----------
    columns : tuple of str
        The encoded columns (`Encoded.columns`).
    categories : dict
        The model's fitted categories (`categories_`), to encode labels.
    codes : sequence of str
        The interventions, in the model's arm order.
    families : sequence of str
        Each intervention's family, in the same order.
    days, hours : arrays
        A planned episode's length and hours per arm; `gap` days pass between episodes.
    """

    def __init__(self, columns, categories, codes, families, days, hours, gap):
        self.columns = tuple(columns)
        self._at = {c: j for j, c in enumerate(self.columns)}
        self.days, self.hours, self.gap = np.asarray(days, float), np.asarray(hours, float), gap
        self._count = self._arm_columns("n_", codes)
        self._hours = self._arm_columns("hours_", codes)
        self._categories = categories
        self._previous = self._codes("previous_intervention", codes)
        if self._has("change_1"):
            self._family = self._codes("family_1", families)
            self._to_last_2 = self._recoding("previous_intervention", "last_2")
            self._to_family_2 = self._recoding("family_1", "family_2")
            labels = list(categories["family_1"])
            pairs = list(categories["families_last_two"])
            self._pair = np.array(
                [[pairs.index(f"{a}>{b}") for b in labels] for a in labels], dtype=float
            )

    def _arm_columns(self, prefix, codes) -> np.ndarray:
        return np.array([self._at.get(prefix + c, -1) for c in codes])

    def _codes(self, column, labels) -> np.ndarray | None:
        if column not in self._at:
            return None
        known = list(self._categories[column])
        return np.array([known.index(x) if x in known else np.nan for x in labels], dtype=float)

    def _recoding(self, source, target) -> np.ndarray:
        """Codes of `source`'s categories as `target`'s codes (the same labels)."""
        return self._codes(target, list(self._categories[source]))

    def _has(self, column) -> bool:
        return column in self._at

    def apply(self, values, carry: Carry, person, arm, step, running: Running):
        """Rows after one planned episode of `arm` (per row) that left the person on `step`;
        `person` indexes `running`. Returns the new rows and their `Carry`."""
        values = values.copy()
        rows = np.arange(len(values))
        col = self._at
        old_step = values[:, col["current_step"]]
        start = np.where(carry.fresh, carry.end, carry.end + self.gap)
        end = start + self.days[arm]
        day, start_day = np.rint(end), np.rint(start)
        change = step - old_step
        now_changed = change != 0

        newly = self._newly_known(running, person, carry.day, day)
        for j, table in ((self._count, None), (self._hours, self.hours)):
            at = j[arm]
            ok = at >= 0
            values[rows[ok], at[ok]] += 1.0 if table is None else table[arm[ok]]
        if newly is not None:
            r, e = newly
            at = self._hours[running.arm[e]]
            ok = (at >= 0) & (running.arm[e] >= 0)
            np.add.at(values, (r[ok], at[ok]), running.hours[e[ok]])

        ordered = self._has("change_1")
        if ordered:
            self._ordered(values, carry, arm, change, now_changed, day, newly, running)
        values[:, col["current_step"]] = step
        for name, add in (
            ("n_previous", 1.0),
            ("steps_gained", change),
            ("steps_back", change < 0),
        ):
            if self._has(name):
                values[:, col[name]] += add
        for name, value in (("days_since_entry", day), ("days_in_previous", day - start_day)):
            if self._has(name):
                values[:, col[name]] = value
        if self._previous is not None:
            values[:, col["previous_intervention"]] = self._previous[arm]
        since = np.where(now_changed, day, carry.since)
        return values, Carry(
            end, np.zeros(len(values), bool), day, since, carry.changed | now_changed
        )

    def _newly_known(self, running: Running, person, old_day, new_day):
        """(row, running episode) pairs whose episode ended after the old decision day and by
        the new one."""
        if len(running.person) == 0:
            return None
        first = np.searchsorted(running.person, person, side="left")
        count = np.searchsorted(running.person, person, side="right") - first
        r = np.repeat(np.arange(len(person)), count)
        e = np.repeat(first, count) + (
            np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        )
        ended = (running.end[e] > old_day[r]) & (running.end[e] <= new_day[r])
        return r[ended], e[ended]

    def _ordered(self, values, carry, arm, change, now_changed, day, newly, running):
        col = self._at
        previous = values[:, col["previous_intervention"]]
        values[:, col["last_3"]] = values[:, col["last_2"]]
        values[:, col["last_2"]] = self._to_last_2[previous.astype(np.int64)]
        family_1 = values[:, col["family_1"]].astype(np.int64)
        new_family = self._family[arm]
        values[:, col["family_2"]] = self._to_family_2[family_1]
        values[:, col["families_last_two"]] = self._pair[family_1, new_family.astype(np.int64)]
        values[:, col["family_1"]] = new_family
        values[:, col["change_2"]] = values[:, col["change_1"]]
        values[:, col["change_1"]] = change
        at_step = values[:, col["episodes_at_step"]]
        values[:, col["episodes_at_step"]] = np.where(now_changed, 0.0, at_step + 1)
        since = np.where(now_changed, day, carry.since)
        values[:, col["days_at_step"]] = np.maximum(day - since, 0.0)
        hours = values[:, col["hours_at_step"]] + self.hours[arm]
        if newly is not None:
            r, e = newly
            counted = running.after_change[e] & ~carry.changed[r]
            np.add.at(hours, r[counted], running.hours[e[counted]])
        values[:, col["hours_at_step"]] = np.where(now_changed, 0.0, hours)
        for name, mark in (
            ("episodes_since_gain", change > 0),
            ("episodes_since_back", change < 0),
        ):
            values[:, col[name]] = np.where(mark, 1.0, values[:, col[name]] + 1)

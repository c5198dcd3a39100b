"""The solver of `RateGapCap`: exact coordinate descent on the dual prices of the cap, a walk
toward equal rates, and the record of the best points visited (see `RateGapCap`'s Method)."""

from __future__ import annotations

import numpy as np

from adapt.fairness.mitigation._problem import _ROUNDING, _gaps, _Problem

_TARGET = 0.9  # each intervention is steered to 90 % of the cap, leaving room for the others
_PATIENCE = 3  # sweeps of the coordinate descent without a better point before it stops


def _solve(problem: _Problem, cap: float, max_sweeps: int, equal=None) -> _Found:
    """Offsets (3, arms) whose choices keep the largest gap within `cap` at the highest
    estimated value found, else those of the smallest gap found. `equal` is the result of
    `_equalise` when already known."""
    zero = np.zeros((3, problem.n_arms))
    found = _Found(problem, cap)
    found.offer(zero)
    if found.best is not None:
        return found
    if cap > 0:
        _descend(problem, zero, cap, max_sweeps, found)
    if equal is None:
        equal = _equalise(problem, max_sweeps, enough=cap / 2)
    found.note(*equal)
    found.along(equal[0])
    return found


def _equalise(problem: _Problem, max_sweeps: int, enough: float = 0.0) -> tuple:
    """Offsets toward equal similar-situation rates for every intervention (stopping once the
    largest gap is `enough` or less), their gap and value."""
    start = np.zeros((3, problem.n_arms))
    equal = _Found(problem, 0.0)
    equal.offer(start)  # the greedy point: the closest so far, even if no price ever moves
    _descend(problem, start, 0.0, max_sweeps, equal, enough)
    return equal.closest


class _Found:
    """The offsets of highest value within `cap` seen so far, and those of smallest gap."""

    def __init__(self, problem: _Problem, cap: float):
        self.problem, self.cap = problem, cap
        self.best = self.closest = None

    def offer(self, offsets) -> float:
        chosen = self.problem.choices(offsets)
        gap = self.problem.largest_gap(chosen)
        self.note(offsets, gap, self.problem.value(chosen))
        return gap

    def note(self, offsets, gap: float, value: float) -> bool:
        """Keep the point if it is the best or the closest so far; say whether it was."""
        entry, kept = (offsets.copy(), gap, value), False
        if gap <= self.cap + _ROUNDING and (self.best is None or value > self.best[2]):
            self.best, kept = entry, True
        if self.closest is None or (gap, -value) < (self.closest[1], -self.closest[2]):
            self.closest, kept = entry, True
        return kept

    def along(self, offsets, steps: int = 16, halvings: int = 6) -> None:
        """Offer ``t * offsets`` for t on a grid over (0, 1], then halve the interval between
        the last t outside the cap and the first within it."""
        grid = np.linspace(0, 1, steps + 1)
        inside = [self.offer(t * offsets) <= self.cap + _ROUNDING for t in grid[1:]]
        if not any(inside):
            return
        first = inside.index(True) + 1
        low, high = grid[first - 1], grid[first]
        for _ in range(halvings):
            middle = (low + high) / 2
            if self.offer(middle * offsets) <= self.cap + _ROUNDING:
                high = middle
            else:
                low = middle

    @property
    def result(self):
        return self.best or self.closest


def _descend(
    problem: _Problem, offsets, cap: float, max_sweeps: int, found: _Found, enough: float = 0.0
) -> None:
    """Exact coordinate descent on the dual from `offsets`: each intervention's price in turn
    becomes the smallest that keeps its gap within the target. Every point is noted in
    `found`; the descent stops after `_PATIENCE` sweeps that add nothing there, or at a gap of
    `enough` or less."""
    q, target = 1 - cap, cap * _TARGET
    state = _State(problem, offsets)
    idle = 0
    for _ in range(max_sweeps):
        kept = False
        for arm in range(problem.n_arms):
            if state.counts[arm] < problem.min_recommended:
                continue
            if state.gaps[arm] <= target and not state.offsets[:2, arm].any():
                continue  # within the target at no price: the descent would keep it so
            column = _offsets(np.array([_price(state, arm, q, target)]), q)[:, 0]
            if np.abs(column - state.offsets[:, arm]).max() <= 1e-12:
                continue
            state.move(arm, column)
            kept |= found.note(state.offsets, state.largest_gap(), state.value())
        idle = 0 if kept else idle + 1
        if idle == _PATIENCE or found.closest[1] <= enough:
            break


class _State:
    """Choices under `offsets`, kept up to date as one intervention's offsets change: each
    row's best and second-best adjusted score and arm, counts and gaps per intervention."""

    def __init__(self, problem: _Problem, offsets):
        self.problem, self.offsets = problem, offsets.copy()
        self.adjusted = problem.nudged + self.offsets[problem.group]
        self.chosen = np.empty(len(problem.rows), np.int64)
        self.runner = np.empty_like(self.chosen)
        self.best, self.second = np.empty(len(problem.rows)), np.empty(len(problem.rows))
        self._rank(problem.rows)
        self.total = problem.scores[problem.rows, self.chosen].sum()

    def _rank(self, rows) -> None:
        sub = self.adjusted[rows]
        index = np.arange(len(rows))
        chosen = sub.argmax(axis=1)
        self.chosen[rows], self.best[rows] = chosen, sub[index, chosen]
        sub[index, chosen] = -np.inf
        runner = sub.argmax(axis=1)
        self.runner[rows], self.second[rows] = runner, sub[index, runner]
        self.gaps, self.counts = self.problem.gaps(self.chosen)

    def move(self, arm: int, column) -> None:
        """Set the offsets of `arm` to `column` (woman, man, unknown) and re-rank the rows
        whose best or second-best may change."""
        self.offsets[:, arm] = column
        problem = self.problem
        new = problem.nudged[:, arm] + column[problem.group]
        self.adjusted[:, arm] = new
        touched = (self.chosen == arm) | (self.runner == arm) | (new >= self.second)
        rows = np.flatnonzero(touched)
        before = problem.scores[rows, self.chosen[rows]].sum()
        self._rank(rows)
        self.total += problem.scores[rows, self.chosen[rows]].sum() - before

    def value(self) -> float:
        return self.total / len(self.chosen)

    def largest_gap(self) -> float:
        judged = self.counts >= self.problem.min_recommended
        return float(self.gaps[judged].max()) if judged.any() else 0.0


def _price(state: _State, arm: int, q: float, target: float) -> float:
    """The price of `arm` of smallest size that keeps its gap within `target`, the others'
    prices fixed; when none does, the one of smallest gap.

    A row chooses `arm` when its offset exceeds its best alternative's adjusted score less its
    own estimate. Women's offset is ``theta`` (theta > 0) or ``q theta``, men's ``-q theta`` or
    ``-theta``: so each woman counts for theta above a point and each man for theta below one,
    and both rates are step functions of theta, read off the sorted points."""
    problem = state.problem
    points, weights = [], []
    for g, rows in enumerate(problem.counted[arm]):
        rival = np.where(state.chosen[rows] == arm, state.second[rows], state.best[rows])
        need = rival - problem.nudged[rows, arm]  # the offset that makes a tie
        if g == 0:
            points.append(np.where(need > 0, need, need / q))  # in for theta above
        else:
            points.append(np.where(need < 0, -need / q, -need))  # in for theta below
        weights.append(problem.weight[rows])
    n_women = len(points[0])
    points = np.concatenate(points)
    order = np.argsort(points, kind="stable")
    points = points[order]
    woman = order < n_women
    weight = np.concatenate(weights)[order]
    women_below = np.cumsum(np.where(woman, weight, 0.0))  # women in for theta above points[j]
    men_upto = np.cumsum(np.where(woman, 0.0, weight))
    men_total = men_upto[-1] if len(men_upto) else 0.0
    finite = np.flatnonzero(np.isfinite(points))
    if len(finite) == 0:
        return 0.0
    first, last = finite[0], finite[-1]
    # candidates: just below the first finite point, between distinct finite points, just
    # above the last; theta = 0 is added below
    between = first + np.flatnonzero(np.diff(points[first : last + 1]) > 0)
    at = np.concatenate([[first - 1], between, [last]])
    candidates = np.concatenate(
        [[points[first] - 1e-9], (points[between] + points[between + 1]) / 2, [points[last] + 1e-9]]
    )
    zero_w = np.searchsorted(points, 0.0, "left") - 1  # women with points < 0 are in
    zero_m = np.searchsorted(points, 0.0, "right") - 1  # men with points > 0 are in
    women = np.concatenate([_upto(women_below, at), _upto(women_below, [zero_w])])
    men = men_total - np.concatenate([_upto(men_upto, at), _upto(men_upto, [zero_m])])
    candidates = np.concatenate([candidates, [0.0]])
    gaps = np.nan_to_num(_gaps(women, men), nan=0.0)
    fits = gaps <= target
    pool = candidates[fits] if fits.any() else candidates[gaps <= gaps.min() + 1e-12]
    return float(pool[np.argmin(np.abs(pool))])


def _upto(cumulative, index) -> np.ndarray:
    """``cumulative[index]``, 0 where the index is -1 (nothing yet)."""
    index = np.asarray(index)
    return np.where(index >= 0, cumulative[np.maximum(index, 0)], 0.0)


def _offsets(theta, q) -> np.ndarray:
    """(3, arms): offsets of women, men and unknown (zero) under prices theta."""
    women = np.where(theta > 0, theta, q * theta)
    men = np.where(theta > 0, -q * theta, -theta)
    return np.vstack([women, men, np.zeros_like(theta)])

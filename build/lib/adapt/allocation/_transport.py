"""The best allocation of scarce places: a transport problem per region, solved exactly.

Each waiting person gets at most one place, each (region, intervention) cell at most its
places; the total value is maximised. The constraint matrix is that of a bipartite
b-matching, totally unimodular, so a basic optimal solution of the linear programme is whole:
HiGHS's dual simplex (SciPy's ``linprog``, already a dependency) finds one. The value of one
more place in each cell is the best chain of moves that place would open, which is exactly the
right-hand dual price of the cell (the solver's own prices may be any of several where the
problem is degenerate). Regions share nothing, so each is its own problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_array

WAITS = -1


@dataclass
class Solution:
    """`assignment` (persons,): the intervention index each person gets, `WAITS` for none;
    `duals` (regions, interventions): the value of one more place in each cell (0 where places
    are left over, NaN where nobody would gain from one); `value`: the total of the values taken."""

    assignment: np.ndarray
    duals: np.ndarray
    value: float


def best_allocation(
    values: np.ndarray, region: np.ndarray, places: np.ndarray, allowed: np.ndarray | None = None
) -> Solution:
    """The allocation of most total value.

    Parameters
    ----------
    values : (persons, interventions) array
        What each person would gain from each intervention; NaN where it cannot be given.
    region : (persons,) int array
        Each person's region, as an index into the rows of `places`.
    places : (regions, interventions) int array
        The places of each cell.
    allowed : (persons, interventions) bool array, optional
        Pairs that may be allocated (default: where `values` is finite).

    The solution depends only on the order of the rows given: callers sort them by a key of
    their own (person_id) so that the order of a file never matters. A pair of value <= 0 is
    never taken (waiting is worth 0).
    """
    values = np.asarray(values, float)
    region = np.asarray(region, np.int64)
    places = np.asarray(places, np.int64)
    allowed = np.isfinite(values) if allowed is None else allowed & np.isfinite(values)
    allowed &= values > 0
    assignment = np.full(len(values), WAITS, np.int64)
    duals = np.full(places.shape, np.nan)
    total = 0.0
    for r in np.unique(region):
        rows = np.flatnonzero(region == r)
        taken, prices, value = _region(values[rows], allowed[rows], places[r])
        assignment[rows] = taken
        duals[r] = prices
        total += value
    return Solution(assignment, duals, total)


def _region(values, allowed, places):
    """`best_allocation` for the persons of one region."""
    person, arm = np.nonzero(allowed)
    taken = np.full(len(values), WAITS, np.int64)
    prices = np.full(len(places), np.nan)
    if len(person) == 0:
        return taken, prices, 0.0
    n_persons, n_arms = values.shape
    pairs = np.arange(len(person))
    # rows: one per person (at most one place), then one per intervention (at most its
    # places; a cell of none keeps its row, so that its place is priced too)
    matrix = csr_array(
        (np.ones(2 * len(person)), (np.r_[person, n_persons + arm], np.r_[pairs, pairs])),
        shape=(n_persons + n_arms, len(person)),
    )
    bound = np.r_[np.ones(n_persons), places.astype(float)]
    result = linprog(
        -values[person, arm], A_ub=matrix, b_ub=bound, bounds=(0, 1), method="highs-ds"
    )
    if result.status != 0:  # bounded and feasible (nobody placed is feasible): never expected
        raise RuntimeError(f"the allocation's linear programme failed: {result.message}")
    x = result.x
    if np.abs(x - np.round(x)).max(initial=0) > 1e-6:
        raise RuntimeError("the allocation's linear programme gave a fractional solution")
    chosen = np.round(x) == 1
    taken[person[chosen]] = arm[chosen]
    wanted = np.isin(np.arange(n_arms), arm)
    prices[wanted] = _one_more_place(values, allowed, taken)[wanted]
    return taken, prices, float(values[person[chosen], arm[chosen]].sum())


def _one_more_place(values, allowed, taken) -> np.ndarray:
    """What one more place of each intervention adds to the best total, given the best
    allocation `taken`: the best chain of moves it opens (someone waiting takes it, or someone
    moves to it from another intervention, whose place the next one takes, and so on).

    This is the smallest of the linear programme's dual prices, the one that is the value of
    one more place: where a cell's constraint is degenerate (a cell without places, say) the
    solver may report any price above it.
    """
    n_arms = values.shape[1]
    gain = np.where(allowed, values, -np.inf)
    waiting = taken == WAITS
    best = np.where(waiting.any(), gain[waiting].max(axis=0, initial=-np.inf), -np.inf)
    # move[a, b]: the best gain of moving someone placed in b to a (which frees a place in b)
    move = np.full((n_arms, n_arms), -np.inf)
    for b in range(n_arms):
        placed = taken == b
        if placed.any():
            move[:, b] = (gain[placed] - values[placed, b][:, None]).max(axis=0)
    np.fill_diagonal(move, -np.inf)
    # an optimal allocation has no chain of positive gain around a loop: longest paths exist
    value = np.maximum(best, 0.0)
    for _ in range(n_arms):
        value = np.maximum(value, (move + value[None, :]).max(axis=1))
    return value


def first_come(
    values: np.ndarray, region: np.ndarray, places: np.ndarray, order: np.ndarray
) -> np.ndarray:
    """The allocation when persons are served one at a time in `order` (indices), each taking
    the best of what is left in their region by `values`; one who finds nothing of value > 0
    left waits. Returns the assignment as `best_allocation` does."""
    left = np.array(places, np.int64, copy=True)
    assignment = np.full(len(values), WAITS, np.int64)
    for i in order:
        row = np.where(np.isfinite(values[i]) & (left[region[i]] > 0), values[i], -np.inf)
        best = int(np.argmax(row))
        if row[best] > 0:
            assignment[i] = best
            left[region[i], best] -= 1
    return assignment

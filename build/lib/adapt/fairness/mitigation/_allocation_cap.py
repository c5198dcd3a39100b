"""The best allocation of scarce places under the gate's cap on gender gaps: each
intervention's similar-situation rates of women and men being *given* a place within
``max_gap`` of each other (as `RateGapCap` caps the rates of being recommended).

The cap couples the regions, and with it the allocation's linear programme is no longer whole.
It is solved as one programme with HiGHS (every pair a variable in [0, 1]; per person at most
one place, per cell at most its places; per capped intervention the two rows
``rate_w >= q rate_m`` and ``rate_m >= q rate_w``, q = 1 - max_gap); their dual prices are the
price of the cap. Each woman's and man's value of an intervention is then moved by that price
times her or his weight in the rate, and the exact whole allocation of the moved values
(`best_allocation`) is the answer: the Lagrangian rounding of the fractional optimum. Where
rounding leaves a gap above the cap the prices are raised step by step; the result says
whether the cap was met.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_array

from adapt.allocation import WAITS, Solution, best_allocation
from adapt.fairness._parity import situation_strata
from adapt.fairness._thresholds import load_thresholds
from adapt.fairness.mitigation._problem import _gaps, _groups, _strata, _weights
from adapt.features import next_decision_points
from adapt.planning import allocate

PRICE_STEPS = (1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0)
BISECTIONS = 6


@dataclass
class CappedSolution(Solution):
    """`Solution` with the largest judged gap before and after the cap, and whether it holds."""

    greedy_gap: float = 0.0
    gap: float = 0.0
    max_gap: float = 0.2
    met: bool = True


def gap_capped_allocation(
    values: np.ndarray,
    region: np.ndarray,
    places: np.ndarray,
    gender,
    strata,
    max_gap: float = 0.2,
    min_recommended: int = 30,
) -> CappedSolution:
    """The allocation of most total value whose gender gaps stay within `max_gap`.

    Parameters
    ----------
    values, region, places
        As `adapt.allocation.best_allocation`.
    gender : (persons,) woman, man or unknown
    strata : (persons,) situation codes (`situation_strata`)
    max_gap : float
        The cap, in [0, 1].
    min_recommended : int
        An intervention given fewer times to women or men in shared situations is exempt, as
        in the audit.
    """
    values = np.asarray(values, float)
    group = _groups(gender, len(values))
    weight = _weights(_strata(strata, len(values)), group)
    free = best_allocation(values, region, places)
    capped = _judged(free.assignment, group, weight, values.shape[1], min_recommended)
    greedy_gap = _largest_gap(free.assignment, group, weight, capped)
    if greedy_gap <= max_gap or not capped.any():
        return CappedSolution(**vars(free), greedy_gap=greedy_gap, gap=greedy_gap, max_gap=max_gap)
    prices = _cap_prices(values, region, places, group, weight, capped, 1.0 - max_gap)
    allowed = np.isfinite(values) & (values > 0)

    def at(scale: float):
        moved = values + _price_offsets(prices * scale, group, weight, 1.0 - max_gap)
        found = best_allocation(np.where(allowed, moved, np.nan), region, places, allowed)
        return found, _largest_gap(found.assignment, group, weight, capped)

    # the smallest scale of the prices that meets the cap moves the fewest choices
    low, best = 0.0, None
    for step in PRICE_STEPS:
        found, gap = at(step)
        if best is None or gap < best[1]:
            best = (found, gap)
        if gap <= max_gap:
            for _ in range(BISECTIONS):
                middle = (low + step) / 2
                nearer, its_gap = at(middle)
                if its_gap <= max_gap:
                    step, best = middle, (nearer, its_gap)
                else:
                    low = middle
            break
        low = step
    found, gap = best
    given = found.assignment != WAITS
    value = float(values[np.flatnonzero(given), found.assignment[given]].sum())
    return CappedSolution(
        assignment=found.assignment,
        duals=found.duals,
        value=value,
        greedy_gap=greedy_gap,
        gap=gap,
        max_gap=max_gap,
        met=gap <= max_gap,
    )


def _cap_prices(values, region, places, group, weight, capped, q) -> np.ndarray:
    """(2, arms) dual prices of the rows rate_w >= q rate_m and rate_m >= q rate_w."""
    allowed = np.isfinite(values) & (values > 0)
    person, arm = np.nonzero(allowed)
    n_persons, n_arms = values.shape
    cell = region[person] * n_arms + arm
    cells, cell_row = np.unique(cell, return_inverse=True)
    pairs = np.arange(len(person))
    rows = [person, n_persons + cell_row]
    columns = [pairs, pairs]
    entries = [np.ones(len(person)), np.ones(len(person))]
    base = n_persons + len(cells)
    arms = np.flatnonzero(capped)
    for j, a in enumerate(arms):
        at = arm == a
        w = weight[person[at]]
        woman, man = group[person[at]] == 0, group[person[at]] == 1
        # -(rate_w - q rate_m) <= 0 and -(rate_m - q rate_w) <= 0
        for r, (own, other) in enumerate(((woman, man), (man, woman))):
            coefficient = np.where(own, -w, np.where(other, q * w, 0.0))
            keep = coefficient != 0
            rows.append(np.full(int(keep.sum()), base + 2 * j + r))
            columns.append(pairs[at][keep])
            entries.append(coefficient[keep])
    matrix = csr_array(
        (np.concatenate(entries), (np.concatenate(rows), np.concatenate(columns))),
        shape=(base + 2 * len(arms), len(person)),
    )
    limit = np.r_[np.ones(n_persons), places.reshape(-1)[cells], np.zeros(2 * len(arms))]
    result = linprog(-values[person, arm], A_ub=matrix, b_ub=limit, bounds=(0, 1), method="highs")
    if result.status != 0:
        raise RuntimeError(f"the capped allocation's linear programme failed: {result.message}")
    dual = -result.ineqlin.marginals[base:].reshape(-1, 2)  # >= 0 for a maximisation
    prices = np.zeros((2, n_arms))
    prices[:, arms] = dual.T
    return prices


def _price_offsets(prices, group, weight, q) -> np.ndarray:
    """(persons, arms) what the cap's prices add to each woman's and man's values."""
    for_woman = prices[0] - q * prices[1]
    for_man = prices[1] - q * prices[0]
    per_group = np.stack([for_woman, for_man, np.zeros_like(for_woman)])
    return weight[:, None] * per_group[group]


def _rates(assignment, group, weight, n_arms) -> tuple[np.ndarray, np.ndarray]:
    """(2, arms) similar-situation rates of being given each intervention, and per arm the
    count given to women or men in shared situations."""
    given = assignment != WAITS
    known = given & (group < 2)
    cells = np.bincount(
        group[known] * n_arms + assignment[known], weights=weight[known], minlength=2 * n_arms
    )
    comparable = given & (group < 2) & (weight > 0)
    return cells.reshape(2, n_arms), np.bincount(assignment[comparable], minlength=n_arms)


def _judged(assignment, group, weight, n_arms, min_recommended) -> np.ndarray:
    return _rates(assignment, group, weight, n_arms)[1] >= min_recommended


def _largest_gap(assignment, group, weight, judged) -> float:
    rates, _ = _rates(assignment, group, weight, len(judged))
    gaps = np.nan_to_num(_gaps(rates[0], rates[1]), nan=0.0)
    return float(gaps[judged].max(initial=0.0))


def capped_allocate(
    model,
    persons,
    episodes,
    places,
    max_gap: float | None = None,
    *,
    min_recommended: int | None = None,
    **kwargs,
):
    """`adapt.planning.allocate` under the gate's cap on gender gaps (`gap_capped_allocation`),
    gender and situations read from each waiting person's next decision. `max_gap` and
    `min_recommended` default to the audit's thresholds; `kwargs` go to `allocate`. The
    result's ``cap`` holds the largest gap before and after, and whether the cap was met."""
    thresholds = load_thresholds()
    max_gap = 1 - thresholds["similar_rate_ratio"] if max_gap is None else max_gap
    if isinstance(max_gap, bool) or not isinstance(max_gap, (int, float)) or not 0 <= max_gap <= 1:
        raise ValueError(f"max_gap must be a number in [0, 1], got {max_gap!r}")
    least = thresholds["min_recommended"] if min_recommended is None else min_recommended
    features = next_decision_points(persons, episodes, model.catalogue_).features
    ids = persons["person_id"].to_numpy()
    gender = dict(zip(ids, features["gender"].astype(object), strict=True))
    stratum = dict(zip(ids, situation_strata(features), strict=True))
    found = {}

    def choose(values, region, cells, waiting):
        order = waiting["person_id"].to_numpy()
        solution = gap_capped_allocation(
            values,
            region,
            cells,
            [gender[i] for i in order],
            [stratum[i] for i in order],
            max_gap=max_gap,
            min_recommended=least,
        )
        found.setdefault("cap", solution)  # the first call is the estimate's own
        return solution

    result = allocate(model, persons, episodes, places, choose=choose, **kwargs)
    cap = found["cap"]
    result.cap = {
        "max_gap": cap.max_gap,
        "greedy_gap": cap.greedy_gap,
        "gap": cap.gap,
        "met": cap.met,
    }
    return result

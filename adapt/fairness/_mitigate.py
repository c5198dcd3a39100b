"""Mitigation of gender gaps in what is recommended: a post-processor that caps the gap between
women's and men's rates of being recommended each intervention in a similar situation, and the
trade-off curve of total value against that gap.

The gap of an intervention is ``1 - min(ratio, 1 / ratio)`` where ``ratio`` is women's
similar-situation rate over men's (as `rate_parity` standardises it): 0 when the rates are equal,
0.2 when one group's rate is 80 % of the other's, 1 when only one group is recommended it. Below
parity it equals ``1 - ratio``; a cap of 0.2 therefore keeps every ratio within [0.8, 1.25], the
audit's default bound (``similar_rate_ratio`` in thresholds.yaml).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from adapt._figures import save_png
from adapt.fairness._parity import situation_strata
from adapt.fairness._thresholds import load_thresholds
from adapt.features import decision_points, decision_points_for

LABELS = ("woman", "man", "unknown")
_TIE_BREAK = 1e-8  # size of the deterministic nudges that split exactly tied estimates
_TARGET = 0.9  # each intervention is steered to 90 % of the cap, leaving room for the others
_ROUNDING = 1e-12  # equal rates computed two ways differ by float noise, not a gap
_PATIENCE = 3  # sweeps of the coordinate descent without a better point before it stops


class RateGapCap(BaseEstimator):
    """Recommend the offered intervention of highest estimated value, subject to a cap on the
    gender gap in similar-situation rates of being recommended each intervention.

    The choice per decision point is ``argmax_k p_k + offset[gender, k]`` over the offered
    interventions: the greedy choice (`choose_best`) with one additive offset per gender and
    intervention. Rows of gender ``unknown`` get no offset and keep the greedy choice; an
    intervention that is not offered (NaN in `p`) is never chosen.

    Parameters
    ----------
    max_gap : float, optional
        The largest gap allowed, for every intervention recommended at least `min_recommended`
        times: ``1 - min(ratio, 1 / ratio)`` of the women/men ratio of similar-situation rates,
        in [0, 1]. By default ``1 - similar_rate_ratio`` of the audit's thresholds (0.2).
    strength : float, optional
        Instead of `max_gap`: the share in [0, 1] of the greedy choices' largest gap to close.
        0 keeps the greedy choices, 1 asks for equal similar-situation rates (as near as whole
        choices allow). Give `max_gap` or `strength`, not both.
    min_recommended : int, optional
        Interventions recommended fewer times are exempt, as in the audit (their ratios are
        noise). By default the audit's ``min_recommended`` (30).
    max_sweeps : int
        Passes over the interventions when fitting the offsets.

    Attributes (after `fit`)
    ------------------------
    interventions_ : list of str
    offsets_ : DataFrame
        Index woman, man; one column per intervention: what is added to the estimate.
    max_gap_ : float
        The cap applied (`max_gap`, or the one `strength` implies).
    greedy_gap_, gap_ : float
        The largest gap of the greedy choices and of the capped ones, on the fitted data.
    greedy_value_, value_ : float
        The mean estimated value of the greedy and of the capped choices.
    met_ : bool
        Whether ``gap_ <= max_gap_``. When not, the offsets are those with the smallest gap
        found, and (for an explicit `max_gap`) a warning says so.

    Method
    ------
    The offsets act as Lagrange multipliers (prices) of the cap. The two constraints of
    intervention k, ``rate_w >= q rate_m`` and ``rate_m >= q rate_w`` with ``q = 1 - max_gap``,
    enter the score as one signed price ``theta_k``: ``+theta`` for women and ``-q theta`` for
    men when women are under-recommended k (``theta > 0``), ``q theta`` and ``-theta`` when men
    are.

    1. Exact coordinate descent on the dual: for each intervention in turn, the others' prices
       fixed, the two similar-situation rates are step functions of ``theta_k`` read off the
       sorted margins (each row's estimate for k less its best alternative), and ``theta_k``
       becomes the price of smallest size that brings the gap within 90 % of the cap.
    2. The same descent toward equal rates (cap 0), which settles more reliably than the one
       toward an inequality, then a walk along the straight line from the greedy choice to
       those offsets: a grid of scales and a bisection for the smallest scale within the cap.

    Every point visited is scored exactly; the one of highest estimated value within the cap
    is kept. Plain subgradient dual ascent was tried first and oscillated: a rate jumps when a
    block of rows with nearly equal estimates flips at once, and a step size cannot land
    between the jumps. Estimates that are exactly tied (the simulator's truth has hundreds of
    such pairs) would still flip together, so once any offset applies, each estimate of a
    woman or a man is nudged by at most 1e-8, a hash of its value and its intervention:
    deterministic, and independent of the row order. With the simulator's truth as estimates
    and a cap of 0.2, the value came within 0.1 % of that of the linear programme that caps
    every intervention and lets choices be fractional: on the tests' world (3,900 decision
    points, with and without a planted gap) and on one of 98,000 (HiGHS took 1 s and 200 s,
    this 0.3 s and 3 s).

    The rates are standardised to everyone's mix of situations; the offsets, though, depend on
    gender and intervention only, so `predict` needs no strata and applies to new decision
    points one at a time.

    Why gender may be used here
    ---------------------------
    The post-processor works on any learner's estimates and does not need gender among the
    model's features: it takes gender from the persons table at decision time. A model that
    steers by gender learns from history how gender should shift each estimate, including
    whatever unequal treatment the history holds, and hides that inside the estimates, where
    it can be neither seen nor bounded. Here gender is used for one stated purpose, to bring
    women's and men's rates in similar situations within the cap; the offsets are a table of
    2 x interventions numbers that can be read and reviewed, and `tradeoff_curve` shows what
    they cost in value.
    """

    def __init__(
        self,
        max_gap: float | None = None,
        *,
        strength: float | None = None,
        min_recommended: int | None = None,
        max_sweeps: int = 20,
    ):
        self.max_gap = max_gap
        self.strength = strength
        self.min_recommended = min_recommended
        self.max_sweeps = max_sweeps

    def fit(self, p: pd.DataFrame, gender, strata) -> RateGapCap:
        """Find the offsets on the decision points in `p` (``p_<intervention>`` columns),
        with each row's `gender` (woman, man, unknown) and situation `strata` (ints, e.g. from
        `situation_strata`)."""
        cap, strength, min_recommended = self._settings()
        codes, values = _estimates(p)
        group = _groups(gender, len(values))
        weight = _weights(_strata(strata, len(values)), group)
        problem = _Problem(values, group, weight, min_recommended)
        greedy = problem.greedy()
        self.greedy_gap_ = problem.largest_gap(greedy)
        self.greedy_value_ = problem.value(greedy)
        if strength is not None:
            cap = (1 - strength) * self.greedy_gap_
        offsets, self.gap_, self.value_ = _solve(problem, cap, self.max_sweeps).result
        self.interventions_ = codes
        self.min_recommended_ = min_recommended
        self.max_gap_ = float(cap)
        self.met_ = bool(self.gap_ <= cap + _ROUNDING)
        self.offsets_ = pd.DataFrame(offsets[:2], index=list(LABELS[:2]), columns=codes)
        if not self.met_ and strength is None:
            warnings.warn(
                f"RateGapCap: no choice found within max_gap={cap:g}; the smallest largest gap "
                f"found is {self.gap_:.3f} (greedy: {self.greedy_gap_:.3f})",
                stacklevel=2,
            )
        return self

    def predict(self, p: pd.DataFrame, gender) -> pd.Series:
        """The recommended intervention per row of `p`, named ``recommended`` like
        `choose_best`'s; `p` must have the fitted interventions' columns."""
        if not hasattr(self, "offsets_"):
            raise NotFittedError("RateGapCap: call fit before predict")
        codes, values = _estimates(p)
        if codes != self.interventions_:
            raise ValueError(
                f"p must have the p_ columns it was fitted with, in order: {self.interventions_}; "
                f"got {codes}"
            )
        chosen = _choose(values, _groups(gender, len(values)), self._offsets())
        return pd.Series(np.asarray(codes)[chosen], index=p.index, name="recommended")

    def fit_predict(self, p: pd.DataFrame, gender, strata) -> pd.Series:
        """`fit`, then `predict` on the same decision points."""
        return self.fit(p, gender, strata).predict(p, gender)

    def _offsets(self) -> np.ndarray:
        """(3, arms): the fitted offsets of women and men, and zeros for unknown."""
        return np.vstack([self.offsets_.to_numpy(float), np.zeros(len(self.interventions_))])

    def _settings(self) -> tuple[float, float | None, int]:
        thresholds = None
        if self.max_gap is not None and self.strength is not None:
            raise ValueError("give max_gap or strength, not both")
        if self.strength is not None:
            strength = _number("strength", self.strength)
            cap = None
        else:
            strength = None
            if self.max_gap is None:
                thresholds = load_thresholds()
                cap = 1 - thresholds["similar_rate_ratio"]
            else:
                cap = _number("max_gap", self.max_gap)
        min_recommended = self.min_recommended
        if min_recommended is None:
            min_recommended = (thresholds or load_thresholds())["min_recommended"]
        if isinstance(min_recommended, bool) or not isinstance(min_recommended, (int, np.integer)):
            raise ValueError(f"min_recommended must be an integer, got {min_recommended!r}")
        if min_recommended < 0:
            raise ValueError(f"min_recommended must be at least 0, got {min_recommended}")
        if not isinstance(self.max_sweeps, (int, np.integer)) or self.max_sweeps < 1:
            raise ValueError(f"max_sweeps must be a positive integer, got {self.max_sweeps!r}")
        return cap, strength, int(min_recommended)


def capped_recommendations(
    model, persons: pd.DataFrame, episodes: pd.DataFrame, max_gap: float | None = None, **kwargs
) -> pd.DataFrame:
    """`model`'s recommendation at every decision point of the tables, with `RateGapCap`
    (fitted on these decision points, gender from the persons table) keeping each
    intervention's women/men gap within `max_gap`: ``person_id``, ``episode_no``,
    ``recommended``, as `adapt recommend` writes them. `kwargs` go to `RateGapCap`."""
    points = decision_points(persons, episodes, getattr(model, "catalogue", None))
    own = decision_points_for(model, persons, episodes)
    gender = points.features["gender"].astype(object).to_numpy()
    cap = RateGapCap(max_gap, **kwargs)
    chosen = cap.fit_predict(model.predict(own.features), gender, situation_strata(points.features))
    return own.keys.assign(recommended=chosen.to_numpy())


def tradeoff_curve(
    p: pd.DataFrame,
    gender,
    strata,
    values=None,
    strengths=None,
    *,
    max_gap: float | None = None,
    min_recommended: int | None = None,
) -> pd.DataFrame:
    """Total value against the gender gap, for a sweep of `strengths` of `RateGapCap` and for
    the cap `max_gap`.

    Parameters
    ----------
    p, gender, strata
        As for `RateGapCap.fit`.
    values : DataFrame or array, optional
        The value of each intervention per row, to score the choices with: the true
        probabilities on simulated data (e.g. ``truth_matrix``; columns ``<intervention>`` or
        ``p_<intervention>``, rows in the order of `p`). By default the estimates `p`.
    strengths : sequence of float, optional
        By default 0, 0.1, ..., 1.
    max_gap : float, optional
        The cap to add a row for (``at_cap``); by default the audit's, 0.2.
    min_recommended : int, optional
        As for `RateGapCap`.

    Returns
    -------
    DataFrame
        One row per strength, in order of strength: ``strength``, ``max_gap`` (the cap it
        implies), ``at_cap`` (the row of `max_gap`), ``met``, ``gap`` (the largest
        ``1 - min(ratio, 1 / ratio)`` of the women/men ratio of similar-situation rates, over
        interventions recommended at least `min_recommended` times), ``value`` (mean value of
        the choices), ``value_woman``, ``value_man``, ``value_gap`` (women's mean less men's,
        not standardised) and ``changed`` (share of decision points whose recommendation
        differs from the greedy one).
    """
    cap, _, min_recommended = RateGapCap(max_gap, min_recommended=min_recommended)._settings()
    codes, estimates = _estimates(p)
    group = _groups(gender, len(estimates))
    weight = _weights(_strata(strata, len(estimates)), group)
    worth = estimates if values is None else _values(values, codes, len(estimates))
    strengths = np.linspace(0, 1, 11) if strengths is None else np.asarray(strengths, float)
    if strengths.ndim != 1 or len(strengths) == 0:
        raise ValueError("strengths must be a non-empty sequence of numbers in [0, 1]")
    problem = _Problem(estimates, group, weight, min_recommended)
    greedy = problem.greedy()
    greedy_gap = problem.largest_gap(greedy)
    at_cap = max(0.0, 1 - cap / greedy_gap) if greedy_gap > 0 else 0.0
    rows = []
    for strength in sorted({*map(float, strengths), at_cap}):
        fitted = RateGapCap(strength=strength, min_recommended=min_recommended)
        chosen = _choose(estimates, group, fitted.fit(p, gender, strata)._offsets())
        got = worth[problem.rows, chosen]
        if np.isnan(got).any():
            bad = np.flatnonzero(np.isnan(got))[:5].tolist()
            raise ValueError(f"values has no value for the chosen intervention in rows {bad}")
        women, men = got[group == 0].mean(), got[group == 1].mean()
        rows.append(
            {
                "strength": strength,
                "max_gap": fitted.max_gap_,
                "at_cap": strength == at_cap,
                "met": fitted.met_,
                "gap": problem.largest_gap(chosen),
                "value": float(got.mean()),
                "value_woman": float(women),
                "value_man": float(men),
                "value_gap": float(women - men),
                "changed": float((chosen != greedy).mean()),
            }
        )
    return pd.DataFrame(rows)


def plot_tradeoff(curve: pd.DataFrame, path) -> Path:
    """Write a PNG of `tradeoff_figure`."""
    return save_png(tradeoff_figure(curve), path)


def tradeoff_figure(curve: pd.DataFrame) -> Figure:
    """`tradeoff_curve`'s value (y) against gap (x), each point labelled with its strength,
    and the cap (the ``at_cap`` row) drawn as a dashed line through its point."""
    missing = [c for c in ("strength", "max_gap", "at_cap", "gap", "value") if c not in curve]
    if missing:
        raise ValueError(f"curve lacks the column(s) {missing}; expected tradeoff_curve's table")
    fig = Figure(figsize=(7, 4.5), layout="tight")
    axis = fig.subplots()
    axis.plot(curve["gap"], curve["value"], marker="o", color="tab:blue", label="strength swept")
    for row in curve[~curve["at_cap"]].itertuples(index=False):
        axis.annotate(
            f"{row.strength:.2g}",
            (row.gap, row.value),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=7,
        )
    for row in curve[curve["at_cap"]].itertuples(index=False):
        axis.axvline(row.max_gap, color="tab:red", linestyle="--", label=f"cap {row.max_gap:g}")
        axis.scatter(
            [row.gap],
            [row.value],
            s=160,
            facecolors="none",
            edgecolors="tab:red",
            label=f"choices under the cap (gap {row.gap:.2f})",
        )
    axis.set(
        title="value of the choices against the gender gap (labels: strength)",
        xlabel="largest similar-situation rate gap, 1 - min(ratio, 1/ratio)",
        ylabel="mean progression probability",
    )
    axis.legend(fontsize=8)
    return fig


# --- the problem and its solver ----------------------------------------------------------


class _Problem:
    """The estimates with -inf where not offered (`scores`, and `nudged` with the tie-splitting
    nudges), gender codes (0 woman, 1 man, 2 unknown), each row's weight in its group's
    similar-situation rate, and the exemption count."""

    def __init__(self, values, group, weight, min_recommended):
        self.scores = np.where(np.isnan(values), -np.inf, values)
        self.nudged = _nudged(values, group)
        self.group, self.weight, self.min_recommended = group, weight, min_recommended
        self.rows = np.arange(len(values))
        # per arm and group: the rows that count in the group's rate and are offered the arm
        counted = [(group == g) & (weight > 0) for g in (0, 1)]
        offered = ~np.isnan(values)
        self.counted = [
            [np.flatnonzero(c & offered[:, arm]) for c in counted] for arm in range(self.n_arms)
        ]

    @property
    def n_arms(self) -> int:
        return self.scores.shape[1]

    def greedy(self) -> np.ndarray:
        return self.scores.argmax(axis=1)

    def value(self, chosen) -> float:
        return float(self.scores[self.rows, chosen].mean())

    def rates(self, chosen) -> tuple[np.ndarray, np.ndarray]:
        """(2, arms) similar-situation rates of women and men, and counts per arm."""
        k = self.n_arms
        cells = np.bincount(self.group * k + chosen, weights=self.weight, minlength=3 * k)
        return cells[: 2 * k].reshape(2, k), np.bincount(chosen, minlength=k)

    def gaps(self, chosen) -> tuple[np.ndarray, np.ndarray]:
        """Per arm: the gap (0 where neither group is recommended it) and the count."""
        rates, counts = self.rates(chosen)
        return np.nan_to_num(_gaps(rates[0], rates[1]), nan=0.0), counts

    def largest_gap(self, chosen) -> float:
        gaps, counts = self.gaps(chosen)
        judged = counts >= self.min_recommended
        return float(gaps[judged].max()) if judged.any() else 0.0

    def choices(self, offsets) -> np.ndarray:
        if not offsets.any():
            return self.greedy()
        return (self.nudged + offsets[self.group]).argmax(axis=1)


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


def _choose(values, group, offsets) -> np.ndarray:
    """argmax of estimate plus offset over offered interventions; without any offset exactly
    `choose_best` (ties to the first listed), else with the tie-splitting nudges."""
    if not offsets.any():
        return np.where(np.isnan(values), -np.inf, values).argmax(axis=1)
    return (_nudged(values, group) + offsets[group]).argmax(axis=1)


def _nudged(values, group) -> np.ndarray:
    """The estimates, -inf where not offered, each nudged by at most `_TIE_BREAK` for women and
    men so that exact ties split; rows of unknown gender are left as they are, so keep
    `choose_best`'s tie rule."""
    scores = np.where(np.isnan(values), -np.inf, values)
    known = group < 2
    scores[known] += _TIE_BREAK * _tie_breaks(values[known])
    return scores


def _gaps(rate_w, rate_m) -> np.ndarray:
    high, low = np.maximum(rate_w, rate_m), np.minimum(rate_w, rate_m)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(high > 0, 1 - low / high, np.nan)


def _tie_breaks(values) -> np.ndarray:
    """A number in [0, 1) per estimate, hashed (splitmix64) from its bits and its column."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    column = np.arange(values.shape[1], dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    h = bits ^ column
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return (h >> np.uint64(11)).astype(np.float64) / 2.0**53


def _weights(strata: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Each row's weight in its group's similar-situation rate, as `rate_parity` standardises:
    the stratum's share of everyone (over strata holding both women and men) over the group's
    count in it; 0 for gender unknown and strata holding one group only."""
    n_strata = int(strata.max()) + 1 if len(strata) else 0
    counts = np.bincount(strata * 3 + group, minlength=3 * n_strata).reshape(n_strata, 3)[:, :2]
    both = (counts > 0).all(axis=1)
    if not both.any():
        raise ValueError("gender, strata: no situation stratum holds both women and men")
    mix = np.where(both, counts.sum(axis=1), 0)
    mix = mix / mix.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(both[:, None], mix[:, None] / counts, 0.0)
    weight = np.zeros(len(group))
    known = group < 2
    weight[known] = per[strata[known], group[known]]
    return weight


def _estimates(p) -> tuple[list[str], np.ndarray]:
    if not isinstance(p, pd.DataFrame):
        raise ValueError(f"p must be a DataFrame of p_<intervention> columns, got {type(p)}")
    columns = [c for c in p.columns if isinstance(c, str) and c.startswith("p_")]
    if not columns:
        raise ValueError(f"p has no p_<intervention> columns; has {list(p.columns)[:8]}")
    values = p[columns].to_numpy(dtype=np.float64)
    if np.isinf(values).any():
        raise ValueError("p must hold probabilities or NaN (not offered), not infinities")
    offered = ~np.isnan(values)
    if not offered.any(axis=1).all():
        rows = np.flatnonzero(~offered.any(axis=1))[:10].tolist()
        raise ValueError(f"p: no intervention is offered in rows {rows}")
    return [c.removeprefix("p_") for c in columns], values


def _groups(gender, n: int) -> np.ndarray:
    gender = pd.Series(np.asarray(gender, dtype=object))
    if len(gender) != n:
        raise ValueError(f"gender has {len(gender)} values but p has {n} rows")
    unknown = ~gender.isin(LABELS)
    if unknown.any():
        bad = sorted({str(v) for v in gender[unknown]})[:5]
        raise ValueError(f"gender must be one of {list(LABELS)}; got {bad}")
    return gender.map({label: i for i, label in enumerate(LABELS)}).to_numpy(np.int64)


def _strata(strata, n: int) -> np.ndarray:
    strata = np.asarray(strata)
    if strata.ndim != 1 or len(strata) != n:
        raise ValueError(f"strata has {len(strata)} values but p has {n} rows")
    if n and (not np.issubdtype(strata.dtype, np.integer) or strata.min() < 0):
        raise ValueError("strata must be non-negative integer codes (see situation_strata)")
    return strata.astype(np.int64)


def _values(values, codes: list[str], n: int) -> np.ndarray:
    if isinstance(values, pd.DataFrame):
        names = [str(c).removeprefix("p_") for c in values.columns]
        lacking = [c for c in codes if c not in names]
        if lacking:
            raise ValueError(f"values lacks the interventions {lacking[:5]}")
        table = values.set_axis(names, axis=1)[codes].to_numpy(np.float64)
    else:
        table = np.asarray(values, dtype=np.float64)
        if table.ndim != 2 or table.shape[1] != len(codes):
            raise ValueError(f"values must have one column per intervention ({len(codes)})")
    if len(table) != n:
        raise ValueError(f"values has {len(table)} rows but p has {n}")
    return table


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)

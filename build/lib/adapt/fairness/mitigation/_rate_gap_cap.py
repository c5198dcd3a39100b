"""`RateGapCap`, the post-processor that caps each intervention's gender gap in
similar-situation rates, and `capped_recommendations`, a model's choices under it."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from adapt.fairness._parity import situation_strata
from adapt.fairness._thresholds import load_thresholds
from adapt.fairness.mitigation._problem import (
    _ROUNDING,
    LABELS,
    _choose,
    _estimates,
    _groups,
    _Problem,
    _strata,
    _weights,
)
from adapt.fairness.mitigation._solver import _solve
from adapt.features import decision_points, decision_points_for


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
        times to women or men in situations both share: ``1 - min(ratio, 1 / ratio)`` of the
        women/men ratio of similar-situation rates, in [0, 1]. By default
        ``1 - similar_rate_ratio`` of the audit's thresholds (0.2).
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


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return float(value)

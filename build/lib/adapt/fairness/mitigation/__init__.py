"""Mitigation of gender gaps in what is recommended: a post-processor that caps the gap between
women's and men's rates of being recommended each intervention in a similar situation, and the
trade-off curve of total value against that gap.

The gap of an intervention is ``1 - min(ratio, 1 / ratio)`` where ``ratio`` is women's
similar-situation rate over men's (as `rate_parity` standardises it): 0 when the rates are equal,
0.2 when one group's rate is 80 % of the other's, 1 when only one group is recommended it. Below
parity it equals ``1 - ratio``; a cap of 0.2 therefore keeps every ratio within [0.8, 1.25], the
audit's default bound (``similar_rate_ratio`` in thresholds.yaml).

The same cap applies to scarce places: `capped_allocate` is `adapt.planning.allocate` with
each intervention's rates of being *given* a place kept within the cap.

Modules: `_rate_gap_cap` (the estimator and `capped_recommendations`), `_allocation_cap` (the
capped allocation), `_problem` (its inputs,
rates and gaps), `_solver` (how it finds its offsets), `_tradeoff` (the curve) and `_plotting`.
"""

from adapt.fairness.mitigation._allocation_cap import (
    CappedSolution,
    capped_allocate,
    gap_capped_allocation,
)
from adapt.fairness.mitigation._plotting import plot_tradeoff, tradeoff_figure
from adapt.fairness.mitigation._rate_gap_cap import RateGapCap, capped_recommendations
from adapt.fairness.mitigation._tradeoff import tradeoff_curve

__all__ = [
    "CappedSolution",
    "RateGapCap",
    "capped_allocate",
    "capped_recommendations",
    "gap_capped_allocation",
    "plot_tradeoff",
    "tradeoff_curve",
    "tradeoff_figure",
]

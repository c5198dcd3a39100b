"""Judge policies: true values on simulated data, off-policy and uplift estimates on real data.

With the ground truth (simulated data): :func:`truth_matrix`, :func:`policy_value`,
:func:`random_policy_value`, :func:`baseline_choices`, :func:`regret_closure` and
:func:`compare_policies`, and :func:`interval_coverage` for intervals. Without it: :func:`ips`,
:func:`snips`, :func:`doubly_robust` and :func:`off_policy_value` (with a person-clustered
bootstrap interval), and :func:`qini_auuc` for uplift rankings. To choose among learners
without the truth: :func:`cross_fitted_nuisances`, :func:`out_of_fold_choices` and
:func:`score_candidates`. :func:`plot_qini_curves` and :func:`plot_policy_values` write PNG
files. For k-step plans: :func:`planning_report` and
:func:`plan_gain_closure`, with :func:`open_loop_value`, :func:`closed_loop_value` and
:func:`behaviour_value` against the oracle's truth.
"""

from adapt.evaluation._coverage import IntervalCoverage, interval_coverage
from adapt.evaluation._off_policy import (
    OffPolicyEstimate,
    doubly_robust,
    ips,
    off_policy_value,
    snips,
)
from adapt.evaluation._planning import (
    behaviour_value,
    closed_loop_value,
    open_loop_value,
    plan_gain_closure,
    planning_report,
    repeatable_flags,
)
from adapt.evaluation._plots import plot_plan_values, plot_policy_values, plot_qini_curves
from adapt.evaluation._policy import (
    BASELINES,
    baseline_choices,
    compare_policies,
    policy_value,
    random_policy_value,
    regret_closure,
)
from adapt.evaluation._selection import (
    Nuisances,
    cross_fitted_nuisances,
    dr_terms,
    out_of_fold_choices,
    score_candidates,
)
from adapt.evaluation._truth import truth_matrix
from adapt.evaluation._uplift import QiniResult, qini_auuc

__all__ = [
    "BASELINES",
    "IntervalCoverage",
    "Nuisances",
    "OffPolicyEstimate",
    "QiniResult",
    "baseline_choices",
    "behaviour_value",
    "closed_loop_value",
    "compare_policies",
    "cross_fitted_nuisances",
    "doubly_robust",
    "dr_terms",
    "interval_coverage",
    "ips",
    "off_policy_value",
    "open_loop_value",
    "out_of_fold_choices",
    "plan_gain_closure",
    "planning_report",
    "plot_plan_values",
    "plot_policy_values",
    "plot_qini_curves",
    "policy_value",
    "qini_auuc",
    "random_policy_value",
    "regret_closure",
    "repeatable_flags",
    "score_candidates",
    "snips",
    "truth_matrix",
]

"""Plans judged with the truth: the value of k-step plans against the best plan and the behaviour.

V is the expected steps gained over k episodes from the same starting states (the oracle's
true dynamics, exits off). Plan-gain closure is ``(V(plans) - V(behaviour)) /
(V(best plan) - V(behaviour))``: 1 when the plans are as good as the best plan the true
probabilities give, 0 when they are no better than what caseworkers did.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from adapt.planning import Planner

# Closed-loop values are Monte-Carlo: the behaviour's is averaged over this many fresh draws.
BEHAVIOUR_REPEATS = 4


def repeatable_flags(catalogue) -> dict[str, bool]:
    return {code: i.repeatable for code, i in catalogue.interventions.items()}


def plan_gain_closure(value: float, behaviour: float, best: float) -> float:
    """Share of the gap between the behaviour and the best plan that `value` closes."""
    gap = best - behaviour
    return float((value - behaviour) / gap) if gap > 0 else float("nan")


def behaviour_value(oracle, start, k: int, seed: int) -> np.ndarray:
    """Steps gained per start under the caseworkers, averaged over fresh draws."""
    return np.mean(
        [
            oracle.closed_loop_values(start, "behaviour", k, seed=seed + 1000 * r)
            for r in range(BEHAVIOUR_REPEATS)
        ],
        axis=0,
    )


def open_loop_value(oracle, start, planner: Planner, k: int) -> np.ndarray:
    """True value of the planner's k-step plans, followed whatever happens (exact)."""
    plans = planner.search(start.persons, start.history, start.step, k=k)
    return oracle.plan_values(start, plans.interventions)


def closed_loop_value(oracle, start, policy: Callable, k: int, seed: int) -> np.ndarray:
    """True steps gained when `policy` decides after every episode (Monte-Carlo)."""
    return oracle.closed_loop_values(start, policy, k, seed=seed)


def planning_report(
    oracle,
    start,
    planner: Planner,
    horizons=(1, 2, 3, 4),
    seed: int = 0,
) -> pd.DataFrame:
    """Per horizon k: V of the behaviour, the planner's open-loop plans and the best plan, and
    the plan-gain closure. The planner's own k is replaced by each horizon; the best plan obeys
    the same catalogue (what is offered, what may be repeated)."""
    repeatable = repeatable_flags(planner.catalogue)
    rows = []
    for k in horizons:
        behaviour = behaviour_value(oracle, start, k, seed).mean()
        _, best_values = oracle.best_plans(start, k, repeatable=repeatable)
        planned = open_loop_value(oracle, start, planner, k).mean()
        best = best_values.mean()
        rows.append(
            {
                "k": k,
                "v_behaviour": behaviour,
                "v_plans": planned,
                "v_best_plan": best,
                "plan_gain_closure": plan_gain_closure(planned, behaviour, best),
            }
        )
    return pd.DataFrame(rows)

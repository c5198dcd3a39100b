"""Judge a fitted learner as a planner: k-step plans for validation persons, against the truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from adapt.evaluation import planning_report, plot_plan_values
from adapt.pipeline._data import ExperimentData
from adapt.planning import Planner, StepTransitions
from adapt.simulation import Oracle

# planning_report's columns and the metric names they are logged under, with _k{k} appended.
PLAN_METRICS = {
    "plan_gain_closure": "plan_gain_closure",
    "v_plans": "plan_value",
    "v_behaviour": "plan_value_behaviour",
    "v_best_plan": "plan_value_best",
}


@dataclass
class PlanEvaluation:
    """Per-horizon metrics, the report (aggregates only) and the PNG plot written."""

    metrics: dict[str, float]
    report: pd.DataFrame
    plots: list[Path] = field(default_factory=list)


def planning_skip_reason(data: ExperimentData) -> str | None:
    """Why plans cannot be judged on `data` (no world to ask the truth of), else None."""
    if data.world is None:
        return (
            f"the {data.source} data were not simulated in this run, so there is no world to "
            "judge plans against"
        )
    return None


def evaluate_plans(
    model,
    data: ExperimentData,
    valid_person_ids,
    *,
    horizons=(1, 2, 3, 4),
    n_starts: int = 1000,
    beam_width: int = 4,
    seed: int = 0,
    plot_dir: str | Path | None = None,
) -> PlanEvaluation:
    """The value of `model`'s k-step plans for validation persons, per horizon k, in truth.

    Step transitions are fitted on the episodes of the other (training) persons. Each
    validation person with a recorded episode gives one start, the true state just before one
    of their episodes (`Oracle.start_states`); at most `n_starts` of them, drawn with `seed`,
    are planned for with `Planner(model, transitions, beam_width=beam_width)` and judged by
    :func:`adapt.evaluation.planning_report` against the behaviour and the best plan.

    Parameters
    ----------
    model : fitted adapt learner
        Its own feature settings (history, sensitive columns) are used to plan.
    data : ExperimentData
        Simulated in this run (`data.world` set); see :func:`planning_skip_reason`.
    valid_person_ids : array-like
        The persons held out from training.
    plot_dir : path, optional
        Folder for ``plan_values.png``.

    Returns
    -------
    PlanEvaluation
        metrics ``plan_gain_closure_k{k}``, ``plan_value_k{k}``, ``plan_value_behaviour_k{k}``,
        ``plan_value_best_k{k}`` and ``n_plan_starts``; the report (one row per k).
    """
    reason = planning_skip_reason(data)
    if reason is not None:
        raise ValueError(f"plans cannot be judged: {reason}")
    if n_starts < 1:
        raise ValueError(f"n_starts must be >= 1, got {n_starts}")
    valid = pd.unique(np.asarray(valid_person_ids))
    persons = data.persons[data.persons["person_id"].isin(valid)]
    in_valid = data.episodes["person_id"].isin(valid)
    transitions = StepTransitions.fit(data.episodes[~in_valid], getattr(model, "catalogue", None))
    oracle = Oracle(data.world, seed=data.seed)
    start = oracle.start_states(persons, data.episodes[in_valid], seed=seed)
    start = start.take(np.random.default_rng(seed).permutation(len(start))[:n_starts])
    planner = Planner(model, transitions, beam_width=beam_width)
    report = planning_report(oracle, start, planner, horizons=list(horizons), seed=seed)
    metrics = {"n_plan_starts": float(len(start))}
    for row in report.itertuples(index=False):
        for column, name in PLAN_METRICS.items():
            metrics[f"{name}_k{row.k}"] = float(getattr(row, column))
    result = PlanEvaluation(metrics, report)
    if plot_dir is not None:
        result.plots.append(plot_plan_values(report, Path(plot_dir) / "plan_values.png"))
    return result

"""Judge a fitted recommender on held-out decision points, overall and across groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from adapt.evaluation import (
    compare_policies,
    off_policy_value,
    plot_policy_values,
    plot_qini_curves,
    qini_auuc,
    truth_matrix,
)
from adapt.features import DecisionPoints
from adapt.models import MultiTreatmentLearner
from adapt.policies import choose_best


@dataclass
class Evaluation:
    """Scalar metrics, tables and the PNG plots written for one recommender."""

    metrics: dict[str, float]
    choices: np.ndarray
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    plots: list[Path] = field(default_factory=list)


def evaluate_recommender(
    model: MultiTreatmentLearner,
    points: DecisionPoints,
    truth: pd.DataFrame | None = None,
    *,
    min_uplift: float | None = None,
    n_bootstrap: int = 200,
    propensity_clip: float = 0.01,
    seed: int = 0,
    plot_dir: str | Path | None = None,
) -> Evaluation:
    """Metrics of the model's recommendations on `points` (held-out persons).

    Always: the doubly robust off-policy value of the recommendations (``dr_value`` with its
    person-bootstrap interval) and the mean Qini coefficient over arms (``mean_qini``). With the
    `truth` (simulated data): the true value of the recommendations, the baselines' values and
    the regret closure (``regret_closure``: 0 is the caseworkers' choice, 1 the oracle).

    Parameters
    ----------
    model : MultiTreatmentLearner
        Fitted on other persons than those in `points`.
    points : DecisionPoints
        Held-out decision points.
    truth : DataFrame, optional
        The simulator's truth table (person_id, episode_no, intervention, p_progress).
    min_uplift : float, optional
        Passed to :func:`adapt.policies.choose_best`.
    n_bootstrap, seed : int
        Person-clustered bootstrap replicates behind every interval, and their seed.
    propensity_clip : float
        Behaviour probabilities are bounded below by this in the off-policy and Qini weights.
    plot_dir : path, optional
        Folder for ``policy_values.png`` (with truth) and ``qini_curves.png``.
    """
    X, observed, reward = points.features, points.treatment.to_numpy(), points.outcome.to_numpy()
    persons = points.keys["person_id"].to_numpy()
    p = model.predict(X)
    usual = uplift_lower = None
    if min_uplift is not None:
        usual = model.usual_path(X)
        uplift_lower, _ = model.predict_uplift_interval(X)
    choices = choose_best(p, usual, uplift_lower, min_uplift).to_numpy()
    propensity = model.behaviour_probabilities(X)
    codes = list(model.interventions_)
    result = Evaluation(metrics={"n_decision_points": float(len(points))}, choices=choices)

    dr = off_policy_value(
        "dr",
        choices,
        observed,
        reward,
        propensity.to_numpy(),
        p.fillna(0.0).to_numpy(),
        interventions=codes,
        groups=persons,
        n_bootstrap=n_bootstrap,
        clip=propensity_clip,
        seed=seed,
    )
    result.metrics.update(
        dr_value=dr.estimate,
        dr_value_low=dr.ci_low,
        dr_value_high=dr.ci_high,
        observed_progression=float(reward.mean()),
    )

    qini = qini_auuc(
        model.predict_uplift(X).to_numpy(),
        observed,
        reward,
        propensity.to_numpy(),
        codes,
        clip=propensity_clip,
    )
    result.metrics["mean_qini"] = float(np.nanmean(qini.table["qini"]))
    result.tables["qini"] = qini.table

    if truth is not None:
        matrix = truth_matrix(truth, points.keys, codes)
        table = compare_policies(
            {"recommender": choices}, matrix, observed, n_bootstrap=n_bootstrap, seed=seed
        )
        result.tables["policies"] = table
        mine = table.loc["recommender"]
        result.metrics.update(
            true_value=float(mine["value"]),
            true_value_low=float(mine["value_low"]),
            true_value_high=float(mine["value_high"]),
            regret_closure=float(mine["regret_closure"]),
            regret_closure_low=float(mine["regret_closure_low"]),
            regret_closure_high=float(mine["regret_closure_high"]),
            behaviour_value=float(table.loc["behaviour", "value"]),
            oracle_value=float(table.loc["oracle", "value"]),
            best_single_value=float(table.loc["best_single", "value"]),
        )
    if plot_dir is not None:
        plot_dir = Path(plot_dir)
        result.plots.append(plot_qini_curves(qini, plot_dir / "qini_curves.png"))
        if truth is not None:
            result.plots.append(
                plot_policy_values(result.tables["policies"], plot_dir / "policy_values.png")
            )
    return result

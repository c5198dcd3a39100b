"""What the choices are worth to women and to men: expected progression and benefit, the model's
calibration per gender, and what changes when only gender changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame
from sklearn.metrics import brier_score_loss

from adapt.fairness._parity import GroupMeans, group_means
from adapt.features import SENSITIVE
from adapt.policies import choose_best

MEASURES = ("progression", "benefit")


def value_figures(
    values: dict[str, np.ndarray],
    chosen: np.ndarray,
    observed: np.ndarray,
    gender: np.ndarray,
    strata: np.ndarray,
    person: np.ndarray,
    *,
    n_bootstrap: int,
    level: float,
    seed: int,
) -> tuple[list[dict], GroupMeans]:
    """Expected progression under the recommender and under behaviour, and the recommender's
    benefit (its choice's value minus the value of what caseworkers chose), per gender.

    `values` maps a source (``estimated``, ``true``) to an (n, arms) matrix of progression
    probabilities; `chosen` and `observed` are arm indices per decision point. One record per
    (source, subject, measure) with women's and men's means overall and in a similar situation,
    the women-minus-men gap and the women-to-men ratio with intervals, and ``unknown``'s mean;
    and the `GroupMeans` behind them, a column per record.
    """
    rows = np.arange(len(chosen))
    columns, labels = [], []
    for source, matrix in values.items():
        recommended, usual = matrix[rows, chosen], matrix[rows, observed]
        columns += [recommended, usual, recommended - usual]
        labels += [
            (source, "recommender", "progression"),
            (source, "behaviour", "progression"),
            (source, "recommender", "benefit"),
        ]
    stacked = np.column_stack(columns)
    means = group_means(stacked, gender, strata, person, n_bootstrap=n_bootstrap, seed=seed)
    gap, gap_low, gap_high = means.gap(level)
    ratio, ratio_low, ratio_high = means.ratio(level)
    low, high = means.interval(level)
    unknown = gender == "unknown"
    records = []
    for j, (source, subject, measure) in enumerate(labels):
        record = {"source": source, "subject": subject, "measure": measure}
        for i, prefix in enumerate(("", "similar_")):
            for g, name in enumerate(("woman", "man")):
                record[f"{prefix}{name}"] = means.point[i, g, j]
                record[f"{prefix}{name}_lower"] = low[i, g, j]
                record[f"{prefix}{name}_upper"] = high[i, g, j]
            record[f"{prefix}gap"] = gap[i, j]
            record[f"{prefix}gap_lower"] = gap_low[i, j]
            record[f"{prefix}gap_upper"] = gap_high[i, j]
            record[f"{prefix}ratio"] = ratio[i, j]
            record[f"{prefix}ratio_lower"] = ratio_low[i, j]
            record[f"{prefix}ratio_upper"] = ratio_high[i, j]
        record["unknown"] = float(stacked[unknown, j].mean()) if unknown.any() else None
        records.append(record)
    return records, means


def calibration_figures(
    predicted: np.ndarray,
    outcome: np.ndarray,
    gender: np.ndarray,
    strata: np.ndarray,
    person: np.ndarray,
    *,
    n_bootstrap: int,
    level: float,
    seed: int,
    n_bins: int = 10,
) -> tuple[dict, GroupMeans]:
    """How well the predicted progression of what was done matches what happened, per gender.

    ``by_group``: Fairlearn's MetricFrame of n, mean predicted, observed rate and Brier score
    (``unknown`` included); ``gap``: women's (observed - predicted) minus men's in a similar
    situation, with its interval; ``curve``: observed rate per bin of predicted probability.
    With the `GroupMeans` of the residual behind the gap.
    """
    frame = MetricFrame(
        metrics={
            "n": lambda y, p: float(len(y)),
            "predicted": lambda y, p: float(np.mean(p)),
            "observed": lambda y, p: float(np.mean(y)),
            "brier": brier_score_loss,
        },
        y_true=outcome,
        y_pred=predicted,
        sensitive_features=pd.Series(gender, name="gender"),
    )
    residual = (outcome - predicted)[:, None]
    means = group_means(residual, gender, strata, person, n_bootstrap=n_bootstrap, seed=seed)
    gap, low, high = means.gap(level)
    edges = np.quantile(predicted, np.linspace(0, 1, n_bins + 1))
    bins = np.clip(np.searchsorted(edges, predicted, side="right") - 1, 0, n_bins - 1)
    curve = (
        pd.DataFrame({"gender": gender, "bin": bins, "predicted": predicted, "observed": outcome})
        .loc[lambda t: t["gender"].isin(["woman", "man"])]
        .groupby(["gender", "bin"])
        .agg(predicted=("predicted", "mean"), observed=("observed", "mean"), n=("bin", "size"))
        .reset_index()
    )
    figures = {
        "by_group": frame.by_group.reset_index().to_dict("records"),
        "similar_residual_gap": float(gap[1, 0]),
        "similar_residual_gap_interval": [float(low[1, 0]), float(high[1, 0])],
        "curve": curve.to_dict("records"),
    }
    return figures, means


def gender_flip(model, features: pd.DataFrame, gender: np.ndarray) -> dict:
    """The same decision points with only gender flipped (woman <-> man): how many
    recommendations change, and by how much the recommended option's estimate moves.

    A model that does not read gender changes nothing, by construction: reported as such.
    """
    if "gender" not in getattr(model, "feature_names_in_", ()):
        return {"reads_gender": False, "changed_share": 0.0, "by_gender": {}}
    flipped = features.copy()
    swap = {"woman": "man", "man": "woman"}
    column = flipped["gender"]
    new = column.astype(object).map(lambda g: swap.get(g, g))
    flipped["gender"] = (
        pd.Categorical(new, categories=column.cat.categories)
        if isinstance(column.dtype, pd.CategoricalDtype)
        else new
    )
    before, after = model.predict(features), model.predict(flipped)
    first, second = choose_best(before), choose_best(after)
    rows = np.arange(len(features))
    codes = [c.removeprefix("p_") for c in before.columns]
    p_first = before.to_numpy()[rows, pd.Index(codes).get_indexer(first)]
    p_second = after.to_numpy()[rows, pd.Index(codes).get_indexer(second)]
    changed = first.to_numpy() != second.to_numpy()
    by_gender = {}
    for name in ("woman", "man"):
        member = gender == name
        if member.any():
            by_gender[name] = {
                "n": int(member.sum()),
                "changed_share": float(changed[member].mean()),
                "mean_abs_change": float(np.abs(p_second - p_first)[member].mean()),
            }
    compared = np.isin(gender, ["woman", "man"])
    return {
        "reads_gender": True,
        "changed_share": float(changed[compared].mean()) if compared.any() else 0.0,
        "by_gender": by_gender,
    }


def reads_sensitive(model) -> list[str]:
    """The sensitive columns among `model`'s features."""
    return [c for c in SENSITIVE if c in getattr(model, "feature_names_in_", ())]

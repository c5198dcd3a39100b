"""How a recommender's choices and their value differ between groups, with Fairlearn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame

from adapt.catalogue import Catalogue, load_catalogue


@dataclass
class FairnessAudit:
    """Per-group metrics (``by_group``: one row per group) and each metric's largest gap."""

    by_group: pd.DataFrame
    difference: pd.Series


def _mean_of_true(y_true, y_pred):
    return float(np.mean(y_true))


def _mean_of_pred(y_true, y_pred):
    return float(np.mean(y_pred))


def _gain(y_true, y_pred):
    return float(np.mean(np.asarray(y_true) - np.asarray(y_pred)))


def _share(y_true, y_pred, member):
    return float(np.mean(member))


def _count(y_true, y_pred):
    return float(len(y_true))


def audit_recommendations(
    choices,
    sensitive,
    *,
    value_of_choice,
    value_of_usual=None,
    min_group_size: int = 50,
    catalogue: Catalogue | None = None,
) -> FairnessAudit:
    """Compare recommendations across the groups in `sensitive` (e.g. gender).

    Parameters
    ----------
    choices : array-like of str
        The recommended intervention per decision point.
    sensitive : array-like
        The group of each decision point.
    value_of_choice : array-like of float
        The progression probability of the recommended intervention: the true one on simulated
        data, the model's estimate otherwise.
    value_of_usual : array-like of float, optional
        The same for the usual path (the caseworkers' choice); adds ``usual_value`` and ``gain``.
    min_group_size : int
        Groups with fewer decision points are reported but left out of ``difference``: a handful
        of rows (gender ``unknown``) would otherwise decide the gaps by chance.
    catalogue : Catalogue, optional
        For the intervention families; the built-in catalogue by default.

    Returns
    -------
    FairnessAudit
        ``by_group`` with ``n``, ``value``, (``usual_value``, ``gain``) and ``share_<family>``,
        the share of recommendations falling in each family; ``difference`` is the largest gap
        between two groups of at least `min_group_size` rows for each metric.
    """
    catalogue = catalogue or load_catalogue()
    choices = np.asarray(choices, dtype=object)
    sensitive = pd.Series(np.asarray(sensitive, dtype=object), name="group")
    value = np.asarray(value_of_choice, dtype=float)
    lengths = {len(choices), len(sensitive), len(value)}
    if value_of_usual is not None:
        lengths.add(len(value_of_usual))
    if len(lengths) != 1:
        raise ValueError(f"choices, sensitive and values must have one length, got {lengths}")
    unknown = sorted(set(choices) - set(catalogue.intervention_codes))
    if unknown:
        raise ValueError(f"choices name interventions the catalogue lacks: {unknown[:5]}")

    family = np.array([catalogue.interventions[c].family for c in choices], dtype=object)
    metrics, params = {"n": _count, "value": _mean_of_true}, {}
    usual = value if value_of_usual is None else np.asarray(value_of_usual, dtype=float)
    if value_of_usual is not None:
        metrics.update(usual_value=_mean_of_pred, gain=_gain)
    for name in catalogue.families():
        metrics[f"share_{name}"] = _share
        params[f"share_{name}"] = {"member": family == name}
    frame = MetricFrame(
        metrics=metrics,
        y_true=value,
        y_pred=usual,
        sensitive_features=sensitive,
        sample_params=params,
    )
    by_group = frame.by_group.astype(float)
    compared = by_group[by_group["n"] >= min_group_size].drop(columns="n")
    if len(compared) < 2:
        raise ValueError(
            f"fewer than two groups have {min_group_size} or more rows "
            f"(sizes: {by_group['n'].astype(int).to_dict()}); nothing to compare"
        )
    difference = compared.max() - compared.min()
    return FairnessAudit(by_group, difference)

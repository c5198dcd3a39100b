"""Per-person SHAP contributions: why one intervention's estimate differs from another's."""

from __future__ import annotations

import warnings
import weakref

import numpy as np
import pandas as pd

from adapt.models import MultiTreatmentLearner

_EXPLAINERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tree_explainer(model):
    """SHAP's TreeExplainer of a fitted model's booster (`Trees`), built once per model (it
    parses every tree) and reused."""
    explainer = _EXPLAINERS.get(model)
    if explainer is None:
        # imported here: shap (and matplotlib with it) takes a second to import, and a live
        # explanation of encoded rows never needs it (LightGBM's own TreeSHAP)
        import shap

        explainer = _EXPLAINERS[model] = shap.TreeExplainer(model.booster_)
    return explainer


def log_odds_contributions(model, rows) -> np.ndarray:
    """SHAP values of `rows` (a float matrix, categories by code) in log-odds, LightGBM's raw
    score: exact, and summing to the raw prediction less the expected value.

    These are the values ``shap.TreeExplainer(model).shap_values(rows)`` gives (for LightGBM
    it calls the booster's own TreeSHAP, ``predict(pred_contrib=True)``; a test holds them
    equal). Calling the booster directly lets one person's explanation run on one thread.
    """
    if isinstance(rows, pd.DataFrame):
        with warnings.catch_warnings():
            # shap warns that a binary classifier's output format changed; we read both.
            warnings.simplefilter("ignore", UserWarning)
            values = tree_explainer(model).shap_values(rows)
        return np.asarray(values[-1] if isinstance(values, list) else values, dtype=float)
    return model.predict(rows, pred_contrib=True)[:, :-1]  # the last column: expected value


def arm_contributions(model: MultiTreatmentLearner, X, arms: np.ndarray) -> pd.DataFrame:
    """Mean over the learner's bags of each feature's SHAP value (log-odds) for the estimate
    of each intervention in `arms` at the single row `X` (a DataFrame, or the learner's
    `Encoded` row).

    Columns are the features the models read, the candidate's own columns (the intervention
    and its place in the order) included; rows are `arms`. Subtracting two rows gives each
    feature's part in the difference of the two estimates, exactly in log-odds per bag for the
    S, sequence and T learners (whose estimate is one classifier per pair); for the X and DR
    learners it explains their outcome model, the estimate before their correction.
    """
    if len(X) != 1:
        raise ValueError(f"arm_contributions explains one row at a time, got {len(X)}")
    if isinstance(X, pd.DataFrame):
        X = model.encode(X)
    arms = np.asarray(arms, dtype=np.int64)
    rows = np.zeros(len(arms), dtype=np.int64)
    names: dict[str, int] = {}
    parts = []
    for lightgbm_model, frame, positions, weight, columns in model.explained_parts(X, rows, arms):
        at = [names.setdefault(column, len(names)) for column in columns]
        parts.append((at, positions, weight * log_odds_contributions(lightgbm_model, frame)))
    total = np.zeros((len(arms), len(names)))
    for at, positions, values in parts:
        np.add.at(total, (np.asarray(positions)[:, None], np.asarray(at)[None, :]), values)
    return pd.DataFrame(total, index=[model.interventions_[a] for a in arms], columns=list(names))

"""Which features drive a recommender's expected gain, by SHAP values over held-out rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import shap
from matplotlib.figure import Figure

from adapt._figures import save_png
from adapt.models import MultiTreatmentLearner


class _Encoded:
    """Features as a float matrix (categories by code) and back, for SHAP's numeric maskers."""

    def __init__(self, X: pd.DataFrame):
        self.columns = list(X.columns)
        self.categories = {
            c: X[c].cat.categories for c in X if isinstance(X[c].dtype, pd.CategoricalDtype)
        }
        self.dtypes = X.dtypes

    def encode(self, X: pd.DataFrame) -> np.ndarray:
        return np.column_stack(
            [
                np.where(X[c].isna(), np.nan, X[c].cat.codes).astype(float)
                if c in self.categories
                else X[c].to_numpy(float)
                for c in self.columns
            ]
        )

    def decode(self, values: np.ndarray) -> pd.DataFrame:
        columns = {}
        for j, c in enumerate(self.columns):
            if c in self.categories:
                codes = np.where(np.isnan(values[:, j]), -1, values[:, j]).astype(int)
                columns[c] = pd.Categorical.from_codes(codes, categories=self.categories[c])
            else:
                columns[c] = pd.Series(values[:, j]).astype(self.dtypes[c])
        return pd.DataFrame(columns)


def expected_gain(model: MultiTreatmentLearner, X: pd.DataFrame) -> np.ndarray:
    """Estimated uplift of the best offered intervention over current practice."""
    return np.nanmax(model.predict_uplift(X).to_numpy(float), axis=1)


def global_importance(
    model: MultiTreatmentLearner,
    X: pd.DataFrame,
    *,
    n_rows: int = 100,
    n_background: int = 10,
    n_permutations: int = 1,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean absolute SHAP value of each feature for the expected gain (:func:`expected_gain`).

    SHAP's permutation explainer (model-agnostic, so every learner is explained the same way)
    runs on `n_rows` rows of `X` drawn with `seed`, against `n_background` other rows, with
    `n_permutations` forward-and-back passes over the features per row (one pass already gives
    exact SHAP values for additive parts and an unbiased estimate for the rest).

    Returns
    -------
    DataFrame
        ``feature`` and ``mean_abs_shap``, largest first.
    """
    if min(n_rows, n_background, n_permutations) < 1:
        raise ValueError(
            "n_rows, n_background and n_permutations must be >= 1, got "
            f"{n_rows}, {n_background}, {n_permutations}"
        )
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(X))
    explained = X.iloc[rows[:n_rows]].reset_index(drop=True)
    background = X.iloc[rows[-n_background:]].reset_index(drop=True)
    codec = _Encoded(X)
    explainer = shap.PermutationExplainer(
        lambda values: expected_gain(model, codec.decode(values)),
        shap.maskers.Independent(codec.encode(background), max_samples=n_background),
        seed=seed,
    )
    n_features = len(codec.columns)
    values = explainer(
        codec.encode(explained),
        max_evals=n_permutations * (2 * n_features + 1),
        silent=True,
    ).values
    table = pd.DataFrame({"feature": codec.columns, "mean_abs_shap": np.abs(values).mean(axis=0)})
    return table.sort_values("mean_abs_shap", ascending=False, ignore_index=True)


def plot_importance(table: pd.DataFrame, path, top: int = 15) -> Path:
    """Write a horizontal bar chart of the `top` features of :func:`global_importance`."""
    shown = table.head(top).iloc[::-1]
    fig = Figure(figsize=(7, 0.35 * len(shown) + 1.2), layout="tight")
    axis = fig.subplots()
    axis.barh(shown["feature"], shown["mean_abs_shap"], color="#1f77b4")
    axis.set(xlabel="mean |SHAP| of the expected gain", title="What drives the recommendations")
    return save_png(fig, path)

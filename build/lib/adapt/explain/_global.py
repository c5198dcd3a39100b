"""Which features drive a recommender's gain, by SHAP values over held-out rows.

:func:`gain_explanation` is the pipeline's: exact TreeExplainer values of the recommended
intervention's estimate less the usual path's, many rows at once. :func:`global_importance` is
the model-agnostic permutation explainer of the expected gain, for learners without trees to
read (slow: about 30 s per 100 rows of the MIA-sized world).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from adapt._figures import save_png
from adapt.models import MultiTreatmentLearner, best_arms

if TYPE_CHECKING:
    import shap

# The learners' own columns for the candidate (the intervention, the pair (intervention, step),
# the sequence learner's place in the order: ``__repeats_last__``...) are reported as one.
INTERVENTION = "the intervention itself"


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
    import shap

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


def plot_importance(
    table: pd.DataFrame, path, top: int = 15, xlabel: str = "mean |SHAP| of the expected gain"
) -> Path:
    """Write a horizontal bar chart of the `top` features of :func:`global_importance` or
    :func:`importance_table`."""
    from matplotlib.figure import Figure

    shown = table.head(top).iloc[::-1]
    fig = Figure(figsize=(7, 0.35 * len(shown) + 1.2), layout="tight")
    axis = fig.subplots()
    axis.barh(shown["feature"], shown["mean_abs_shap"], color="#1f77b4")
    axis.set(xlabel=xlabel, title="What drives the recommendations")
    return save_png(fig, path)


def gain_explanation(
    model: MultiTreatmentLearner, X: pd.DataFrame, *, n_rows: int = 1000, seed: int = 0
) -> shap.Explanation:
    """SHAP values (log-odds, mean over the learner's bags) of the recommended intervention's
    estimate less the usual path's, on `n_rows` rows of `X` drawn with `seed` (all when fewer).

    The recommended intervention is the offered one of highest estimated probability (ties: the
    first in catalogue order, as in ``choose_best``), the usual path the behaviour model's most
    likely one (``usual_path``): the difference the per-person reasons explain
    (:func:`~adapt.explain.arm_contributions`), computed with TreeExplainer for every row at once.
    Rows whose recommendation is the usual path have no difference: all their values are 0.

    For the S, sequence and T learners, whose estimate is one LightGBM classifier per (row,
    intervention), the values are exact: per bag, each row's values plus its ``base_values``
    (0 for the pooled S and sequence learners, whose two estimates share one model) sum to the
    difference of the two raw scores, ``logit(p_best) - logit(p_usual)``. For the X and DR
    learners they explain the pooled outcome model behind the estimate, without the effect
    models or correction on top: an approximation that names what drives progression. An arm
    the T-learner fitted as a plain rate has no features to credit and counts as 0.

    Features are the model's input columns; the learners' own columns for the candidate are
    summed into one, :data:`INTERVENTION` (its ``data`` is NaN). ``data`` holds the features'
    values, categories by code, for the beeswarm's colours.
    """
    import shap

    if n_rows < 1:
        raise ValueError(f"n_rows must be >= 1, got {n_rows}")
    X = model.checked_features(X)
    rows = np.sort(np.random.default_rng(seed).permutation(len(X))[:n_rows])  # in X's order
    explained = X.iloc[rows].reset_index(drop=True)
    best = best_arms(model.predict(explained).to_numpy(float))
    usual = best_arms(model.behaviour_probabilities(explained).to_numpy(float))

    names = [*X.columns, INTERVENTION]
    index = {c: j for j, c in enumerate(X.columns)}
    values = np.zeros((len(explained), len(names)))
    base = np.zeros(len(explained))
    differ = np.flatnonzero(best != usual)
    if len(differ):
        # One pass per bag over every (row, best) pair followed by every (row, usual) pair.
        pair_rows = np.r_[differ, differ]
        pair_arms = np.r_[best[differ], usual[differ]]
        total = np.zeros((len(pair_rows), len(names)))
        total_base = np.zeros(len(pair_rows))
        # Encoded rows: LightGBM's own TreeSHAP on every core, the expected value its last column
        encoded = model.encode(explained)
        for lightgbm_model, frame, positions, weight, columns in model.explained_parts(
            encoded, pair_rows, pair_arms
        ):
            into = np.zeros((frame.shape[1], len(names)))
            into[np.arange(frame.shape[1]), [index.get(c, -1) for c in columns]] = 1
            contributions = lightgbm_model.predict(frame, pred_contrib=True)
            total[positions] += weight * contributions[:, :-1] @ into
            total_base[positions] += weight * contributions[:, -1]
        half = len(differ)
        values[differ] = total[:half] - total[half:]
        base[differ] = total_base[:half] - total_base[half:]
    data = np.column_stack([_Encoded(explained).encode(explained), np.full(len(explained), np.nan)])
    return shap.Explanation(values=values, base_values=base, data=data, feature_names=names)


def importance_table(explanation: shap.Explanation) -> pd.DataFrame:
    """``feature``, ``mean_abs_shap`` and ``mean_shap`` of an explanation's rows, largest mean
    absolute value first (the table the pipeline logs as ``feature_importance``)."""
    values = np.asarray(explanation.values, dtype=float)
    table = pd.DataFrame(
        {
            "feature": list(explanation.feature_names),
            "mean_abs_shap": np.abs(values).mean(axis=0),
            "mean_shap": values.mean(axis=0),
        }
    )
    return table.sort_values("mean_abs_shap", ascending=False, ignore_index=True, kind="stable")


def plot_explanation(explanation: shap.Explanation, folder, top: int = 15) -> list[Path]:
    """Write ``shap_beeswarm.png`` and ``shap_bar.png`` (SHAP's own plots, `top` features)
    of :func:`gain_explanation` to `folder`; return their paths."""
    import shap
    from matplotlib.figure import Figure

    folder = Path(folder)
    height = 0.4 * min(top, len(explanation.feature_names)) + 1.6
    paths = []
    for name, plot in (("shap_beeswarm", shap.plots.beeswarm), ("shap_bar", shap.plots.bar)):
        fig = Figure(figsize=(8.5, height), layout="tight")
        axis = fig.subplots()
        options = {"plot_size": None} if plot is shap.plots.beeswarm else {}
        with warnings.catch_warnings():
            # The beeswarm colours by each feature's percentiles; the intervention has no values.
            warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
            plot(explanation, max_display=top, ax=axis, show=False, **options)
        axis.set_title("What drives the recommended intervention over the usual path")
        shown = "SHAP value" if plot is shap.plots.beeswarm else "mean |SHAP value|"
        axis.set_xlabel(f"{shown} (log-odds, recommended less usual path)")
        paths.append(save_png(fig, folder / f"{name}.png"))
    return paths

"""Global SHAP importance of the expected gain, on a real fitted learner."""

import numpy as np
import pytest

from adapt.explain import expected_gain, global_importance, plot_importance
from adapt.features import decision_points
from adapt.models import make_learner
from adapt.simulation import simulate


@pytest.fixture(scope="module")
def fitted():
    data = simulate(300, seed=5, truth=False)
    points = decision_points(data["persons"], data["episodes"])
    model = make_learner("s", n_estimators=30, n_bags=2, random_state=0)
    model.fit(points.features, points.treatment, points.outcome, groups=points.keys.person_id)
    return model, points.features


def test_expected_gain_is_best_minus_current_practice(fitted):
    model, X = fitted
    gain = expected_gain(model, X.head(50))
    p = model.predict(X.head(50)).to_numpy()
    e = model.behaviour_probabilities(X.head(50)).to_numpy()
    assert np.allclose(gain, np.nanmax(p, axis=1) - np.nansum(e * p, axis=1))
    assert (gain >= 0).all()


def test_importance_covers_every_feature_and_is_reproducible(fitted):
    model, X = fitted
    first = global_importance(model, X, n_rows=8, n_background=5, seed=1)
    again = global_importance(model, X, n_rows=8, n_background=5, seed=1)
    assert sorted(first["feature"]) == sorted(X.columns)
    assert (first["mean_abs_shap"] >= 0).all()
    assert first["mean_abs_shap"].is_monotonic_decreasing
    assert first.equals(again)
    assert first["mean_abs_shap"].iloc[0] > 0


def test_features_the_model_ignores_get_no_importance(fitted):
    model, X = fitted
    # A column the model never varies on: every explained row and the background share its value.
    X = X.assign(age=40.0)
    table = global_importance(model, X, n_rows=6, n_background=4, seed=0).set_index("feature")
    assert table.loc["age", "mean_abs_shap"] == 0


def test_sizes_must_be_positive(fitted):
    model, X = fitted
    with pytest.raises(ValueError, match="n_rows, n_background and n_permutations"):
        global_importance(model, X, n_rows=0)


def test_plot_is_written(fitted, tmp_path):
    model, X = fitted
    table = global_importance(model, X, n_rows=4, n_background=3, seed=0)
    assert plot_importance(table, tmp_path / "i.png").read_bytes()[:4] == b"\x89PNG"

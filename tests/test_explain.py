"""Global SHAP explanations of the recommendations, on real fitted learners."""

import copy

import numpy as np
import pytest
import shap

from adapt.explain import (
    INTERVENTION,
    expected_gain,
    gain_explanation,
    global_importance,
    importance_table,
    plot_explanation,
    plot_importance,
)
from adapt.features import decision_points
from adapt.models import make_learner
from adapt.models._arms import with_arm

N_ROWS = 120


@pytest.fixture(scope="module")
def points():
    from adapt.simulation import simulate

    data = simulate(1000, seed=5, truth=False)
    return decision_points(data["persons"], data["episodes"])


def fit(points, learner: str, **params):
    model = make_learner(learner, n_estimators=30, n_bags=2, random_state=0, **params)
    return model.fit(
        points.features, points.treatment, points.outcome, groups=points.keys.person_id
    )


@pytest.fixture(scope="module")
def fitted(points):
    return fit(points, "s"), points.features


@pytest.fixture(scope="module")
def explained(fitted):
    model, X = fitted
    return gain_explanation(model, X.head(N_ROWS), n_rows=N_ROWS)


def best_and_usual(model, X):
    p = model.predict(X).to_numpy()
    best = np.where(np.isnan(p), -np.inf, p).argmax(axis=1)
    return best, model.behaviour_probabilities(X).to_numpy().argmax(axis=1)


def raw_scores(lightgbm_model, model, X, arms):
    return lightgbm_model.predict(with_arm(X, arms, model.interventions_), raw_score=True)


# -- gain_explanation ---------------------------------------------------------------------------
def test_s_learner_values_sum_to_the_difference_of_log_odds_in_every_bag(fitted):
    model, X = fitted
    X = X.head(N_ROWS)
    for bag in model.estimators_:
        one = copy.copy(model)
        one.estimators_ = [bag]
        explanation = gain_explanation(one, X, n_rows=N_ROWS)
        best, usual = best_and_usual(one, X)
        difference = raw_scores(bag, model, X, best) - raw_scores(bag, model, X, usual)
        assert (best != usual).sum() > 10
        assert np.allclose(explanation.base_values, 0)  # one model for both estimates
        assert np.allclose(explanation.values.sum(axis=1), difference, atol=1e-6)


def test_the_mean_over_bags_sums_to_the_mean_difference(fitted, explained):
    model, X = fitted
    X = X.head(N_ROWS)
    best, usual = best_and_usual(model, X)
    difference = np.mean(
        [raw_scores(b, model, X, best) - raw_scores(b, model, X, usual) for b in model.estimators_],
        axis=0,
    )
    total = explained.values.sum(axis=1) + explained.base_values
    assert np.allclose(total, difference, atol=1e-6)
    # Where the recommendation is the usual path there is nothing to explain.
    assert (explained.values[best == usual] == 0).all()


def test_every_feature_and_the_intervention_get_values(fitted, explained):
    model, X = fitted
    assert isinstance(explained, shap.Explanation)
    assert explained.feature_names == [*X.columns, INTERVENTION]
    assert explained.values.shape == explained.data.shape == (N_ROWS, X.shape[1] + 1)
    assert np.isfinite(explained.values).all()
    # Sensitive features the model reads are explained like any other.
    for column in ("gender", "violence_exposure"):
        assert column in explained.feature_names
    table = importance_table(explained).set_index("feature")
    assert table.loc[INTERVENTION, "mean_abs_shap"] > 0
    assert table.loc["gender", "mean_abs_shap"] >= 0
    # The candidate's own columns are merged into one feature.
    assert not any(name.startswith("__") for name in explained.feature_names)
    # Data hold the explained rows' values (categories by code), none for the intervention.
    assert np.allclose(explained.data[:, list(X.columns).index("age")], X["age"].head(N_ROWS))
    assert np.isnan(explained.data[:, -1]).all()


def test_rows_are_drawn_reproducibly_and_capped_at_the_data(fitted):
    model, X = fitted
    first = gain_explanation(model, X, n_rows=15, seed=3)
    again = gain_explanation(model, X, n_rows=15, seed=3)
    assert first.values.shape[0] == 15
    assert np.array_equal(first.values, again.values)
    assert gain_explanation(model, X.head(7), n_rows=50).values.shape[0] == 7
    with pytest.raises(ValueError, match="n_rows must be >= 1"):
        gain_explanation(model, X, n_rows=0)


def test_t_learner_values_sum_to_the_difference_of_its_arms_models(points):
    X = points.features.head(60)
    model = fit(points, "t")
    explanation = gain_explanation(model, X, n_rows=60)
    best, usual = best_and_usual(model, X)
    difference = np.zeros(len(X))
    for models in model.estimators_:
        for arms, sign in ((best, 1), (usual, -1)):
            for arm in np.unique(arms):
                pick = arms == arm
                if not np.isscalar(models[arm]):
                    difference[pick] += sign * models[arm].predict(X[pick], raw_score=True)
    total = explanation.values.sum(axis=1) + explanation.base_values
    # Arms fitted as a plain rate have no features to credit (see gain_explanation).
    exact = np.array(
        [
            all(not np.isscalar(m[a]) for m in model.estimators_ for a in (b, u))
            for b, u in zip(best, usual, strict=True)
        ]
    )
    assert exact.sum() > 10
    assert np.allclose(total[exact], difference[exact] / len(model.estimators_), atol=1e-6)
    assert (explanation.values[:, -1] == 0).all()  # the T-learner has no intervention column


def test_x_learner_is_explained_through_its_outcome_model(points):
    X = points.features.head(60)
    model = fit(points, "x")
    explanation = gain_explanation(model, X, n_rows=60)
    best, usual = best_and_usual(model, X)
    difference = np.zeros(len(X))
    for outcome, *_ in model.estimators_:
        for folded in outcome.models_:
            difference += (
                raw_scores(folded, model, X, best) - raw_scores(folded, model, X, usual)
            ) / len(outcome.models_)
    total = explanation.values.sum(axis=1) + explanation.base_values
    # The approximation: exactly the pooled outcome models' difference (on data this small they
    # may not split on the intervention, and then both are 0).
    assert np.allclose(total, difference / len(model.estimators_), atol=1e-6)
    assert np.isfinite(explanation.values).all()


def test_importance_table_is_sorted_with_signed_means(explained):
    table = importance_table(explained)
    assert list(table.columns) == ["feature", "mean_abs_shap", "mean_shap"]
    assert table["mean_abs_shap"].is_monotonic_decreasing
    assert (table["mean_abs_shap"] >= table["mean_shap"].abs() - 1e-12).all()
    assert len(table) == len(explained.feature_names)


def test_beeswarm_bar_and_importance_plots_are_written(explained, tmp_path):
    paths = plot_explanation(explained, tmp_path / "plots", top=8)
    assert [p.name for p in paths] == ["shap_beeswarm.png", "shap_bar.png"]
    table = importance_table(explained)
    paths.append(plot_importance(table, tmp_path / "plots" / "feature_importance.png", 8))
    for path in paths:
        assert path.read_bytes()[:4] == b"\x89PNG"


# -- the permutation explainer of the expected gain (model-agnostic, not in the pipeline) -------
# Running it costs ~25 s of numba compilation on first use, so only its argument checks are here.
def test_expected_gain_is_best_minus_current_practice(fitted):
    model, X = fitted
    gain = expected_gain(model, X.head(50))
    p = model.predict(X.head(50)).to_numpy()
    e = model.behaviour_probabilities(X.head(50)).to_numpy()
    assert np.allclose(gain, np.nanmax(p, axis=1) - np.nansum(e * p, axis=1))
    assert (gain >= 0).all()


def test_permutation_sizes_must_be_positive(fitted):
    model, X = fitted
    with pytest.raises(ValueError, match="n_rows, n_background and n_permutations"):
        global_importance(model, X, n_rows=0)


def test_contributions_are_what_shaps_tree_explainer_gives(served_data, recommender):
    """The per-person reasons call LightGBM's TreeSHAP directly (one thread); shap's
    TreeExplainer gives the same values."""
    from adapt.explain._contributions import log_odds_contributions, tree_explainer
    from adapt.features import decision_points as points_of
    from adapt.models._arms import with_arm

    model = recommender.model
    X = points_of(served_data["persons"], served_data["episodes"]).features.head(20)
    X = model._check_predict_input(X)
    arms = np.zeros(len(X), dtype=np.int64)
    frame = with_arm(X, arms, model.interventions_)
    matrix = with_arm(model._encode(X), arms, model.interventions_)
    bag = model.estimators_[0]
    expected = tree_explainer(bag).shap_values(frame)
    expected = np.asarray(expected[-1] if isinstance(expected, list) else expected)
    np.testing.assert_allclose(log_odds_contributions(bag, matrix), expected, atol=1e-10)

"""The blend of an S-learner and a sequence learner: its estimate and its explanations."""

import numpy as np
import pytest

from adapt.explain import gain_explanation
from adapt.explain._contributions import arm_contributions
from adapt.features import decision_points
from adapt.models import BlendLearner, make_learner
from adapt.models._arms import predict_pairs
from adapt.simulation import simulate


@pytest.fixture(scope="module")
def points():
    data = simulate(900, seed=8, truth=False)
    return decision_points(data["persons"], data["episodes"], history="ordered")


def fit(points, **params):
    model = make_learner("blend", n_estimators=30, random_state=0, **params)
    assert isinstance(model, BlendLearner)
    return model.fit(
        points.features, points.treatment, points.outcome, groups=points.keys["person_id"]
    )


def halves(model, X):
    """The S half (mean over its S models) and the sequence half of each offered pair."""
    E = model._encode(X)
    rows, arms = np.nonzero(model._available(E))
    [parts] = model.estimators_
    s_input = E.select(model.s_columns_)
    s = np.mean(
        [predict_pairs(m, s_input, rows, arms, model.interventions_) for m in parts.s_models],
        axis=0,
    )
    sequence = super(BlendLearner, model)._predict_one(parts.sequence, E, rows, arms)
    return rows, arms, s, sequence


def test_the_full_estimate_is_half_the_half_samples_s_and_half_the_full_sequence(points):
    model = fit(points, n_bags=3, point_estimate="full")
    [parts] = model.estimators_
    # the S half: every half-sample's S model; the sequence half: one model on all rows
    assert len(parts.s_models) == 3
    assert all(parts.sequence is not bag.sequence for bag in model.bag_estimators_)
    X = points.features.head(200)
    rows, arms, s, sequence = halves(model, X)
    p = model.predict(X).to_numpy()
    np.testing.assert_allclose(p[rows, arms], np.clip(0.5 * s + 0.5 * sequence, 0, 1))
    low, high = model.predict_interval(X)
    assert (low.to_numpy()[rows, arms] <= p[rows, arms] + 1e-12).all()
    assert (high.to_numpy()[rows, arms] >= p[rows, arms] - 1e-12).all()


def test_one_bag_blends_two_models_fitted_on_every_row(points):
    model = fit(points, n_bags=1, point_estimate="full")
    [parts] = model.estimators_
    assert len(parts.s_models) == 1 and not model.bag_estimators_
    rows, arms, s, sequence = halves(model, points.features.head(50))
    assert not np.allclose(s, sequence)  # two different models, both used


def test_contributions_name_every_column_of_both_halves(points):
    model = fit(points, n_bags=2, point_estimate="full")
    X = points.features.head(1)
    table = arm_contributions(model, X, np.flatnonzero(model._available(X)[0])[:2])
    assert set(model.feature_names_in_) <= set(table.columns)
    assert np.isfinite(table.to_numpy()).all()
    explanation = gain_explanation(model, points.features.head(60), n_rows=60)
    assert explanation.values.shape == (60, len(model.feature_names_in_) + 1)

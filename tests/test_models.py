"""Multi-treatment learners: scikit-learn conventions, outputs, intervals, bad input, quality."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from adapt.catalogue import load_catalogue
from adapt.evaluation import interval_coverage, truth_matrix
from adapt.features import decision_points
from adapt.models import LEARNERS, TLearner, load_model, make_learner, save_model
from adapt.models._dr_learner import stacked_pseudo_outcomes
from adapt.policies import choose_best
from adapt.simulation import simulate

FAST = {"n_estimators": 40, "num_leaves": 15, "n_bags": 2}


@pytest.fixture(scope="module")
def points():
    data = simulate(2500, seed=31)
    # The ordered history holds the summary's columns too, so every learner can fit on it.
    return decision_points(data["persons"], data["episodes"], history="ordered"), data


@pytest.fixture(scope="module", params=sorted(LEARNERS))
def fitted(request, points):
    dp, _ = points
    model = make_learner(request.param, **FAST)
    return model.fit(dp.features, dp.treatment, dp.outcome, groups=dp.keys["person_id"])


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_scikit_learn_conventions(name):
    estimator = make_learner(name)
    check_no_attributes_set_in_init(name, estimator)
    check_parameters_default_constructible(name, estimator)
    check_get_params_invariance(name, estimator)
    check_set_params(name, estimator)
    assert clone(estimator).get_params() == estimator.get_params()


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_unfitted_models_raise_not_fitted(name, points):
    with pytest.raises(NotFittedError):
        make_learner(name).predict(points[0].features)


def test_probabilities_exactly_where_offered(fitted, points):
    dp, _ = points
    p = fitted.predict(dp.features)
    offered = load_catalogue().availability().loc[dp.features["region"].astype(str)].to_numpy()
    assert list(p.columns) == [f"p_{c}" for c in load_catalogue().intervention_codes]
    assert (p.notna().to_numpy() == offered).all()
    values = p.to_numpy()[offered]
    assert ((values >= 0) & (values <= 1)).all()


def test_the_public_face_on_encoded_rows_gives_what_the_data_frame_methods_give(fitted, points):
    dp, _ = points
    X = dp.features.iloc[:200]
    E = fitted.encode(X)
    p = fitted.predict(X).to_numpy()
    np.testing.assert_allclose(fitted.estimate(E), p)
    np.testing.assert_allclose(fitted.draws(E).mean(axis=0), p, atol=1e-12)
    assert (fitted.offered(E) == ~np.isnan(p)).all()
    e = fitted.behaviour(E)
    np.testing.assert_allclose(e, fitted.behaviour_probabilities(X).to_numpy())
    np.testing.assert_allclose(fitted.uplift(p, e), fitted.predict_uplift(X).to_numpy())
    low, high = fitted.probability_interval(fitted.draws(E))
    expected_low, expected_high = fitted.predict_interval(X)
    np.testing.assert_allclose(low, expected_low.to_numpy())
    np.testing.assert_allclose(high, expected_high.to_numpy())
    values = [dict(zip(X.columns, row, strict=True)) for row in X.head(5).itertuples(index=False)]
    np.testing.assert_allclose(fitted.encode_values(values).values, E.values[:5])


def test_explained_parts_weigh_every_pair_to_one_and_name_their_columns(fitted, points):
    dp, _ = points
    X = fitted.encode(dp.features.iloc[:3])
    rows, arms = np.nonzero(fitted.offered(X))
    try:
        parts = fitted.explained_parts(X, rows, arms)
    except NotImplementedError:
        pytest.skip(f"{type(fitted).__name__} is not explained per person")
    weight = np.zeros(len(rows))
    for _, frame, positions, w, columns in parts:
        assert len(columns) == frame.shape[1]
        np.add.at(weight, positions, w)
    # one per pair; none where the estimate is a plain rate (the T-learner's small arms)
    assert np.isclose(weight, 1.0).any()
    assert (np.isclose(weight, 1.0) | np.isclose(weight, 0.0)).all()


def test_intervals_surround_the_estimate_and_none_has_zero_width(fitted, points):
    dp, _ = points
    X = dp.features.iloc[:300]
    p = fitted.predict(X).to_numpy()
    offered = ~np.isnan(p)
    lower, upper = (f.to_numpy() for f in fitted.predict_interval(X))
    inside = (lower <= p + 1e-12) & (p <= upper + 1e-12)
    assert inside[offered].all()
    unclipped = offered & (p > 1e-6) & (p < 1 - 1e-6)
    assert (upper - lower)[unclipped].min() > 0
    wide_lower, wide_upper = (f.to_numpy() for f in fitted.predict_interval(X, level=0.95))
    assert (wide_lower[offered] <= lower[offered] + 1e-12).all()
    assert (wide_upper[offered] >= upper[offered] - 1e-12).all()
    with pytest.raises(ValueError, match="level must be strictly between 0 and 1, got 1.5"):
        fitted.predict_interval(X, level=1.5)


def test_uplift_is_measured_against_current_practice(fitted, points):
    dp, _ = points
    X = dp.features.iloc[:200]
    p, e = fitted.predict(X).to_numpy(), fitted.behaviour_probabilities(X).to_numpy()
    uplift = fitted.predict_uplift(X).to_numpy()
    assert np.allclose(e.sum(axis=1), 1)
    practice = np.nansum(e * p, axis=1)
    assert np.allclose(uplift, p - practice[:, None], equal_nan=True)
    # What caseworkers would do gains nothing over itself, on average over their choices.
    assert np.allclose(np.nansum(e * uplift, axis=1), 0)
    usual = pd.Index(fitted.interventions_).get_indexer(fitted.usual_path(X))
    assert (usual == np.nanargmax(e, axis=1)).all()
    lower, upper = (f.to_numpy() for f in fitted.predict_uplift_interval(X))
    offered = ~np.isnan(p)
    assert ((lower <= uplift + 1e-12) & (uplift <= upper + 1e-12))[offered].all()
    assert ((upper - lower)[offered] > 0).all()


def test_same_seed_same_estimates(points):
    dp, _ = points
    a = make_learner("s", **FAST).fit(dp.features, dp.treatment, dp.outcome)
    b = make_learner("s", **FAST).fit(dp.features, dp.treatment, dp.outcome)
    pd.testing.assert_frame_equal(a.predict(dp.features), b.predict(dp.features))


def test_recommendations_beat_the_caseworkers_on_the_truth():
    data = simulate(6000, seed=41)
    dp = decision_points(data["persons"], data["episodes"])
    persons = dp.keys["person_id"].unique()
    test = dp.keys["person_id"].isin(persons[4000:]).to_numpy()
    train, held = dp.take(np.flatnonzero(~test)), dp.take(np.flatnonzero(test))
    model = make_learner("s", n_estimators=150).fit(
        train.features, train.treatment, train.outcome, groups=train.keys["person_id"]
    )
    truth = data["truth"].pivot_table(
        index=["person_id", "episode_no"], columns="intervention", values="p_progress"
    )
    truth = (
        truth.reindex(pd.MultiIndex.from_frame(held.keys))
        .reindex(columns=model.interventions_)
        .to_numpy()
    )
    rows = np.arange(len(held))
    chosen = pd.Index(model.interventions_).get_indexer(choose_best(model.predict(held.features)))
    observed = pd.Index(model.interventions_).get_indexer(held.treatment.astype(str))
    value, behaviour = truth[rows, chosen].mean(), truth[rows, observed].mean()
    oracle = np.nanmax(truth, axis=1).mean()
    assert (value - behaviour) / (oracle - behaviour) > 0.4


def test_policy_keeps_the_usual_path_unless_the_gain_is_sure(fitted, points):
    dp, _ = points
    X = dp.features.iloc[:300]
    p, usual = fitted.predict(X), fitted.usual_path(X)
    lower, _ = fitted.predict_uplift_interval(X)
    assert (choose_best(p, usual, lower, min_uplift=np.inf) == usual).all()
    free = choose_best(p)
    assert (free == choose_best(p, usual, lower, min_uplift=-np.inf)).all()
    best = p.to_numpy()[np.arange(len(X)), pd.Index(p.columns).get_indexer("p_" + free)]
    assert np.allclose(best, np.nanmax(p.to_numpy(), axis=1))
    # The rule reads the interval of the difference: where the best's lower bound clears the
    # threshold it is kept, elsewhere the usual path.
    gain = lower.to_numpy()[np.arange(len(X)), pd.Index(p.columns).get_indexer("p_" + free)]
    threshold = float(np.median(gain))
    chosen = choose_best(p, usual, lower, min_uplift=threshold)
    assert (chosen[gain >= threshold] == free[gain >= threshold]).all()
    assert (chosen[gain < threshold] == usual[gain < threshold]).all()
    with pytest.raises(ValueError, match="uplift_<intervention> column"):
        choose_best(p, usual, lower.iloc[:, ::-1], min_uplift=0.0)


def test_dr_pseudo_outcomes_stay_unbiased_when_the_outcome_model_is_wrong():
    """Randomised arms with known propensities and a constant, wrong outcome model: the stacked
    pseudo-outcomes the DR-learner regresses on still average to each arm's true rate (sampling
    each row's observed arm plus two others, unweighted, does not)."""
    rng = np.random.default_rng(0)
    n, arms = 60_000, 6
    available = np.ones((n, arms), bool)
    available[: n // 2, 5] = False  # half the rows are offered five arms, half six
    e = available / available.sum(axis=1, keepdims=True)
    t = np.array([rng.choice(arms, p=row) for row in e])
    rate = np.linspace(0.2, 0.7, arms)
    y = (rng.random(n) < rate[t]).astype(float)
    rows, stacked_arms, target = stacked_pseudo_outcomes(
        np.full((n, arms), 0.5), e, t, y, available
    )
    assert np.array_equal(np.sort(rows * arms + stacked_arms), np.flatnonzero(available.ravel()))
    means = pd.Series(target).groupby(stacked_arms).mean().to_numpy()
    assert np.allclose(means, rate, atol=0.02)


def test_intervals_cover_the_truth_on_held_out_persons():
    """Measured against the simulator: at nominal 90 %, the S- and DR-learners' intervals hold
    the true probability in most offered cells of unseen persons (the spread alone, divided by
    sqrt(2) as before, held it in about 55 % for S)."""
    data = simulate(4000, seed=43)
    dp = decision_points(data["persons"], data["episodes"])
    persons = dp.keys["person_id"].unique()
    test = dp.keys["person_id"].isin(persons[2800:]).to_numpy()
    train, held = dp.take(np.flatnonzero(~test)), dp.take(np.flatnonzero(test))
    truth = truth_matrix(data["truth"], held.keys)
    for name in ("s", "dr"):
        model = make_learner(name, n_estimators=100, random_state=1).fit(
            train.features, train.treatment, train.outcome, groups=train.keys["person_id"]
        )
        lower, upper = model.predict_interval(held.features, level=0.9)
        coverage = interval_coverage(lower, upper, truth)
        assert coverage.coverage > 0.8, (name, coverage)
        assert coverage.zero_width == 0


def test_save_and_load_give_the_same_model(fitted, points, tmp_path):
    dp, _ = points
    save_model(fitted, tmp_path / "m", data="test")
    again = load_model(tmp_path / "m")
    pd.testing.assert_frame_equal(
        again.predict(dp.features.iloc[:50]), fitted.predict(dp.features.iloc[:50])
    )
    assert (tmp_path / "m" / "model.json").exists()


def test_bad_input_is_named(points):
    dp, _ = points
    model = make_learner("s", **FAST)
    with pytest.raises(ValueError, match="treatment has 3 rows but X has"):
        model.fit(dp.features, dp.treatment[:3], dp.outcome)
    with pytest.raises(ValueError, match="not in the catalogue"):
        model.fit(dp.features, ["yoga"] * len(dp), dp.outcome)
    with pytest.raises(ValueError, match="y must be 0 or 1"):
        model.fit(dp.features, dp.treatment, dp.outcome * 2)
    with pytest.raises(TypeError, match="DataFrame"):
        model.fit(dp.features.to_numpy(), dp.treatment, dp.outcome)
    few = (dp.keys["person_id"].isin(dp.keys["person_id"].unique()[:5])).to_numpy()
    with pytest.raises(ValueError, match="at least 20 persons .*; got 5"):
        model.fit(dp.features[few], dp.treatment[few], dp.outcome[few], dp.keys["person_id"][few])
    not_offered = dp.treatment.astype(str).where(dp.features["region"] != "hbs", "boston_model")
    with pytest.raises(ValueError, match="does not offer"):
        model.fit(dp.features, not_offered, dp.outcome)

    hbs = (dp.features["region"] != "hbs").to_numpy()
    model.fit(dp.features[hbs], dp.treatment[hbs], dp.outcome[hbs])
    with pytest.raises(ValueError, match="regions the fitted model never saw: \\['hbs'\\]"):
        model.predict(dp.features)
    with pytest.raises(ValueError, match="missing \\['age'\\]"):
        model.predict(dp.features[hbs].drop(columns="age"))
    with pytest.warns(
        UserWarning, match="ignoring 1 column\\(s\\) the model was not trained on: x_new"
    ):
        model.predict(dp.features[hbs].assign(x_new=1.0))  # ignored, no longer refused


def test_the_sequence_learner_asks_for_the_ordered_history(points):
    _, data = points
    summary = decision_points(data["persons"], data["episodes"])
    with pytest.raises(ValueError, match="history='ordered'.*last_2"):
        make_learner("sequence", **FAST).fit(
            summary.features, summary.treatment, summary.outcome, summary.keys["person_id"]
        )


def test_the_float_matrix_predicts_what_the_data_frame_predicts(fitted, points):
    """Predicting from the encoded matrix (categories by code) gives LightGBM's own reading of
    the pandas frame, for every learner's models (S, sequence, X, DR through DataFrames too)."""
    model = fitted
    X = model._check_predict_input(points[0].features.head(300))
    rows, arms = np.nonzero(model._available(X))
    encoded = model._encode(X)
    assert np.array_equal(model._available(encoded), model._available(X))
    for bag in model.estimators_:
        from_matrix = model._predict_one(bag, encoded, rows, arms)
        if isinstance(model, TLearner):  # its arms' classifiers read X as it is
            from_frame = np.array(
                [
                    bag[a] if np.isscalar(bag[a]) else bag[a].predict(X.iloc[[r]])[0]
                    for r, a in zip(rows[:40], arms[:40], strict=True)
                ]
            )
            np.testing.assert_allclose(from_matrix[:40], from_frame, rtol=1e-12)
        else:
            from_frame = model._predict_one(bag, X, rows, arms)
            np.testing.assert_allclose(from_matrix, from_frame, rtol=1e-12)
    behaviour = model.propensity_.predict(X, model._available(X))
    np.testing.assert_allclose(model._behaviour(encoded), behaviour, rtol=1e-12)


def test_columns_the_model_was_not_trained_on_are_ignored_with_one_warning(fitted, points):
    """Extra covariates at prediction (a column added to the export since training): every
    learner predicts what it predicts without them, and says so once per call, in one line."""
    import warnings

    X = points[0].features.head(200)
    extra = X.assign(x_notes=["a", "b"] * 100, x_distance_km=np.arange(200.0))[
        ["x_notes", *X.columns, "x_distance_km"]  # anywhere, in any order
    ]
    expected = "ignoring 2 column(s) the model was not trained on: x_notes, x_distance_km"
    for method in ("predict", "predict_uplift", "predict_interval", "predict_uplift_interval"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with_extra = getattr(fitted, method)(extra)
        assert [str(w.message) for w in caught] == [expected], method
        assert caught[0].filename == __file__  # names the caller's line, not the library's
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the columns it was trained on: no warning
            without = getattr(fitted, method)(X)
        for got, want in zip(
            with_extra if isinstance(with_extra, tuple) else (with_extra,),
            without if isinstance(without, tuple) else (without,),
            strict=True,
        ):
            pd.testing.assert_frame_equal(got, want)
    with pytest.raises(ValueError, match="missing \\['region'\\]"):
        fitted.predict(extra.drop(columns="region"))  # a missing column is still refused


def test_full_data_point_estimate_with_half_samples_around_it(points):
    dp, _ = points
    X, t, y, g = dp.features, dp.treatment, dp.outcome, dp.keys["person_id"]
    model = make_learner("s", n_estimators=40, n_bags=3, point_estimate="full", random_state=0).fit(
        X, t, y, groups=g
    )
    assert len(model.estimators_) == 1 and len(model.bag_estimators_) == 3
    head = X.head(200)
    p = model.predict(head).to_numpy(float)
    bags = model._bags(model._encode(model._check_predict_input(head)))
    # the draws are centred on the full-data estimate, so intervals are too
    np.testing.assert_allclose(np.nanmean(bags, axis=0), p, atol=1e-12)
    lower, upper = model.predict_interval(head)
    offered = ~np.isnan(p)
    assert (lower.to_numpy()[offered] <= p[offered] + 1e-12).all()
    assert (p[offered] <= upper.to_numpy()[offered] + 1e-12).all()
    # and it differs from the mean of the half-samples, which "bags" would give
    bagged = model._estimates(model._encode(head), model.bag_estimators_).mean(axis=0)
    assert not np.allclose(bagged[offered], p[offered])


def test_one_bag_is_one_model_on_all_rows_without_intervals(points):
    dp, _ = points
    X, t, y, g = dp.features, dp.treatment, dp.outcome, dp.keys["person_id"]
    model = make_learner("s", n_estimators=20, n_bags=1).fit(X, t, y, groups=g)
    assert len(model.estimators_) == 1 and model.bag_estimators_ == []
    with pytest.raises(ValueError, match="intervals need n_bags >= 2"):
        model.predict_interval(X.head(5))


def test_a_model_saved_before_bag_estimators_loads_as_it_was(points, tmp_path):
    dp, _ = points
    X, t, y, g = dp.features, dp.treatment, dp.outcome, dp.keys["person_id"]
    model = make_learner("s", n_estimators=20, n_bags=2).fit(X, t, y, groups=g)
    before = model.predict(X.head(20))
    state = model.__getstate__()
    del state["bag_estimators_"]  # as a model of an earlier release holds it
    old = type(model).__new__(type(model))
    old.__setstate__(state)
    pd.testing.assert_frame_equal(old.predict(X.head(20)), before)
    assert old.predict_interval(X.head(20))[0].notna().any().any()


def test_a_model_saved_before_catalogue_and_seen_regions_were_fitted_gets_them(points):
    dp, _ = points
    X, t, y, g = dp.features, dp.treatment, dp.outcome, dp.keys["person_id"]
    model = make_learner("s", n_estimators=20, n_bags=2).fit(X, t, y, groups=g)
    assert list(model.catalogue_.intervention_codes) == model.interventions_
    assert set(model.seen_regions_) == set(X["region"].astype(str))
    state = dict(model.__getstate__())  # a copy: the model keeps its own
    del state["catalogue_"], state["seen_regions_"]  # as a model of an earlier release holds it
    old = type(model).__new__(type(model))
    old.__setstate__(state)
    assert old.catalogue_.fingerprint() == load_catalogue().fingerprint()
    assert old.seen_regions_ == list(model.regions_)
    pd.testing.assert_frame_equal(old.predict(X.head(20)), model.predict(X.head(20)))


def test_unknown_point_estimate_is_named(points):
    dp, _ = points
    X, t, y = dp.features, dp.treatment, dp.outcome
    with pytest.raises(ValueError, match="point_estimate must be one of"):
        make_learner("s", point_estimate="median").fit(X, t, y)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from([np.nan, 0.1, 0.2, 0.3]), min_size=4, max_size=4).filter(
            lambda row: not all(np.isnan(row))
        ),
        min_size=1,
        max_size=6,
    )
)
def test_one_tie_rule_for_the_best_intervention(rows):
    """The batch choice, the live ranking and the explainers take the same arm: the highest
    estimate, ties to the one listed first."""
    from adapt.models import best_arms, ranked_arms
    from adapt.policies import choose_best

    p = np.array(rows, dtype=float)
    best = best_arms(p)
    frame = pd.DataFrame(p, columns=[f"p_a{j}" for j in range(4)])
    assert (choose_best(frame).to_numpy() == np.array([f"a{b}" for b in best])).all()
    for row, arm in zip(p, best, strict=True):
        ranking = ranked_arms(row)
        assert ranking[0] == arm
        top = np.nanmax(row)
        assert arm == np.flatnonzero(row == top)[0]
        assert list(ranking) == sorted(ranking, key=lambda a: (-row[a], a))


def test_a_saved_model_records_its_package_versions_and_refuses_another_major(tmp_path):
    import json

    from adapt.features import decision_points
    from adapt.models import SLearner, load_model, save_model
    from adapt.models._persistence import VERSIONED, package_versions
    from adapt.simulation import simulate

    data = simulate(200, seed=4)
    points = decision_points(data["persons"], data["episodes"])
    model = SLearner(n_estimators=5, n_bags=2).fit(
        points.features, points.treatment, points.outcome, points.keys["person_id"]
    )
    folder = save_model(model, tmp_path / "m")
    card = json.loads((folder / "model.json").read_text())
    assert set(card["versions"]) == set(VERSIONED)
    assert card["versions"] == package_versions()
    load_model(folder)  # the same versions: loads
    major = int(card["versions"]["lightgbm"].split(".")[0])
    card["versions"]["lightgbm"] = f"{major - 1}.9.0"
    (folder / "model.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match=rf"saved with lightgbm {major - 1}\.9\.0"):
        load_model(folder)

"""`AutoLearner` (``--learner auto``): candidates scored without the truth, the rule, fallback."""

import numpy as np
import pandas as pd
import pytest

from adapt.evaluation import cross_fitted_nuisances, score_candidates
from adapt.features import decision_points
from adapt.selection import AutoLearner, Candidate
from adapt.simulation import World, simulate

SMALL = {"n_estimators": 40}
CANDIDATES = [
    Candidate("s", "small", SMALL),
    Candidate("sequence", "small", SMALL),
    Candidate("t", "small", SMALL),
]


def _points(n_persons, seed, world=None):
    data = simulate(n_persons, seed=seed, world=world)
    dp = decision_points(data["persons"], data["episodes"], history="ordered")
    return dp.features, dp.treatment.to_numpy(object), dp.outcome.to_numpy(), dp


@pytest.fixture(scope="module")
def fitted():
    X, t, y, dp = _points(1500, 11)
    g = dp.keys["person_id"].to_numpy()
    auto = AutoLearner(CANDIDATES, n_bags=2, n_bootstrap=200).fit(X, t, y, groups=g)
    return auto, X


def test_every_candidate_scored_and_one_chosen(fitted):
    auto, X = fitted
    table = auto.cv_results_.set_index("candidate")
    assert list(table.index) == [c.name for c in CANDIDATES]
    assert (table["status"] == "chosen").sum() == 1
    assert table.loc[auto.best_candidate_, "status"] == "chosen"
    assert (table["low"] <= table["value"]).all() and (table["value"] <= table["high"]).all()
    assert table.loc["s/small", "gain"] == 0  # the reference
    assert not auto.fallback_  # the default world has effects worth following
    # the fitted model is the chosen one, fitted on the columns it reads
    chosen = next(c for c in CANDIDATES if c.name == auto.best_candidate_)
    assert type(auto.best_estimator_).__name__.lower().startswith(chosen.learner)
    np.testing.assert_allclose(
        auto.predict(X.head(50)).to_numpy(float),
        auto.best_estimator_.predict(chosen.columns(X.head(50))).to_numpy(float),
    )


def test_a_challenger_needs_a_sure_gain():
    scores = pd.DataFrame(
        {"value": [0.80, 0.85, 0.83], "gain_low": [0.0, -0.01, 0.002]},
        index=["ref", "bigger_but_unsure", "sure"],
    )
    assert AutoLearner._choose(scores, "ref") == "sure"
    assert AutoLearner._choose(scores.drop(index="sure"), "ref") == "ref"


def test_pairing_gains_and_caseworkers():
    X, t, y, dp = _points(800, 3)
    g = dp.keys["person_id"].to_numpy()
    summary = CANDIDATES[0].columns(X)
    nuisances = cross_fitted_nuisances(summary, t, y, g, n_folds=2, seed=0)
    rng = np.random.default_rng(0)
    codes = np.asarray(nuisances.codes)
    choices = {"observed": t, "random": codes[rng.integers(0, len(codes), len(t))]}
    offered = nuisances.e > 0  # a random choice among offered ones
    choices["random"] = np.array([rng.choice(codes[o]) for o in offered], dtype=object)
    table = score_candidates(choices, t, y, g, nuisances, "observed", n_bootstrap=200)
    # the caseworkers' policy is the one the data followed: its value is the mean outcome
    for name in choices:
        assert table.loc[name, "over_caseworkers"] == pytest.approx(
            table.loc[name, "value"] - y.mean()
        )
    assert table.loc["random", "gain"] == pytest.approx(
        table.loc["random", "value"] - table.loc["observed", "value"]
    )
    assert table.loc["random", "gain_low"] <= table.loc["random", "gain"]


def test_no_effects_means_the_usual_path():
    # a world where no intervention changes progression: nothing can beat the caseworkers
    world = World.from_preset("default", overrides={"knobs.effect_scale": 0.0})
    X, t, y, dp = _points(1500, 4, world)
    g = dp.keys["person_id"].to_numpy()
    strict = AutoLearner(CANDIDATES[:1], fallback_level=0.95, n_bags=2, n_bootstrap=200)
    strict.fit(X, t, y, groups=g)
    assert strict.fallback_ and strict.recommends_usual_path
    assert strict.best_estimator_.recommends_usual_path_  # it travels with the saved model
    chosen = strict.cv_results_.iloc[0]
    assert chosen["over_caseworkers_p"] > 0.05 and chosen["over_caseworkers_low"] <= 0


def test_fallback_levels():
    X, t, y, dp = _points(1500, 11)
    g = dp.keys["person_id"].to_numpy()
    fits = {
        level: AutoLearner(CANDIDATES[:1], fallback_level=level, n_bags=2).fit(X, t, y, groups=g)
        for level in (0.5, 0.999)
    }
    p = fits[0.5].cv_results_["over_caseworkers_p"].iloc[0]
    assert fits[0.5].fallback_ == (p >= 0.5)
    assert fits[0.999].fallback_ == (p >= 0.001)


def test_budget_scores_the_reference_and_skips_the_rest():
    X, t, y, dp = _points(300, 2)
    g = dp.keys["person_id"].to_numpy()
    auto = AutoLearner(CANDIDATES, budget_seconds=1e-6, n_bags=2).fit(X, t, y, groups=g)
    status = auto.cv_results_.set_index("candidate")["status"]
    assert status["s/small"] == "chosen"
    assert (status.drop("s/small") == "skipped: budget spent").all()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"budget_seconds": 0}, "budget_seconds must be > 0"),
        ({"candidates": [Candidate("s"), Candidate("s")]}, "repeated: \\['s/default'\\]"),
        ({"candidates": []}, "non-empty list of Candidate"),
        ({"level": 1.5}, "level must be strictly between 0 and 1"),
        ({"fallback_level": 0}, "fallback_level must be strictly between 0 and 1"),
        ({"n_folds": 1}, "n_folds must be an integer >= 2"),
    ],
)
def test_bad_settings_are_named(params, message):
    X, t, y, _ = _points(100, 1)
    with pytest.raises(ValueError, match=message):
        AutoLearner(**params).fit(X, t, y)


def test_summary_features_are_refused_with_the_fix():
    data = simulate(100, seed=1)
    dp = decision_points(data["persons"], data["episodes"])
    with pytest.raises(ValueError, match="history='ordered'"):
        AutoLearner().fit(dp.features, dp.treatment, dp.outcome)


def test_unknown_candidate_learner():
    with pytest.raises(ValueError, match="candidate learner 'forest' is unknown"):
        Candidate("forest")

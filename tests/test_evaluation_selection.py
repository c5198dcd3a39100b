"""The truth-free selection criterion: out-of-fold DR value of the policy a learner induces."""

import numpy as np
import pandas as pd
import pytest

from adapt.evaluation import policy_value, truth_matrix
from adapt.evaluation._selection import cross_fitted_nuisances, policy_value_out_of_fold
from adapt.features import decision_points
from adapt.models import make_learner
from adapt.simulation import simulate


class MostFrequent:
    """A policy, not a model: the most frequent training intervention wherever it is offered
    (elsewhere the first offered), shaped as a learner so the criterion scores it like one."""

    def fit(self, X, treatment, y, groups=None):
        self.model_ = make_learner("s", n_estimators=5, n_bags=1).fit(X, treatment, y, groups)
        self.top_ = pd.Series(np.asarray(treatment)).value_counts().index[0]
        return self

    def predict(self, X):
        p = self.model_.predict(X)
        offered = p.notna().to_numpy()
        top = (p.columns == f"p_{self.top_}")[None, :]
        return pd.DataFrame(np.where(offered, np.where(top, 1.0, 0.5), np.nan), p.index, p.columns)


@pytest.fixture(scope="module")
def world():
    data = simulate(1200, seed=5)
    dp = decision_points(data["persons"], data["episodes"])
    return data, dp


def _learner():
    return make_learner("s", n_estimators=60, n_bags=1)


def test_score_shapes_and_interval(world):
    _, dp = world
    X, t, y = dp.features, dp.treatment.to_numpy(), dp.outcome.to_numpy()
    g = dp.keys["person_id"].to_numpy()
    nuisances = cross_fitted_nuisances(X, t, y, g, n_folds=3, seed=0)
    assert nuisances.e.shape == nuisances.mu.shape == (len(X), len(nuisances.codes))
    assert sorted(np.concatenate(nuisances.folds).tolist()) == list(range(len(X)))
    for rows in nuisances.folds:  # folds are person-grouped
        assert not set(g[rows]) & set(np.delete(g, rows))
    score = policy_value_out_of_fold(_learner, X, t, y, g, nuisances=nuisances, n_bootstrap=100)
    assert score.choices.shape == (len(X),)
    assert score.low <= score.value <= score.high
    assert score.behaviour_value == pytest.approx(y.mean())


def test_learner_scores_above_most_frequent(world):
    data, dp = world
    X, t, y = dp.features, dp.treatment.to_numpy(), dp.outcome.to_numpy()
    g = dp.keys["person_id"].to_numpy()
    nuisances = cross_fitted_nuisances(X, t, y, g, n_folds=3, seed=0)
    learner = policy_value_out_of_fold(_learner, X, t, y, g, nuisances=nuisances)
    frequent = policy_value_out_of_fold(MostFrequent, X, t, y, g, nuisances=nuisances)
    truth = truth_matrix(data["truth"], dp.keys)
    # the premise holds in truth, and the criterion sees it without the truth
    assert policy_value(learner.choices, truth) > policy_value(frequent.choices, truth)
    assert learner.value > frequent.value

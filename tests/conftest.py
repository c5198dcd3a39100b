"""Fixtures shared by the recommender, service and browser tests: one small trained model."""

import pytest

from adapt.features import decision_points
from adapt.models import SLearner, save_model
from adapt.planning import StepTransitions
from adapt.simulation import simulate


@pytest.fixture(scope="session")
def served_data():
    """A small simulated population (persons, episodes, truth)."""
    return simulate(600, seed=21)


@pytest.fixture(scope="session")
def model_folder(served_data, tmp_path_factory):
    """A folder as `adapt train` writes it: a small S-learner and its step transitions."""
    folder = tmp_path_factory.mktemp("served") / "model"
    points = decision_points(served_data["persons"], served_data["episodes"])
    model = SLearner(n_estimators=30, n_bags=3, random_state=0).fit(
        points.features, points.treatment, points.outcome, points.keys["person_id"]
    )
    save_model(model, folder, data="simulated: 600 persons, seed 21")
    StepTransitions.fit(served_data["episodes"]).save(folder)
    return folder


@pytest.fixture(scope="session")
def recommender(model_folder):
    """The model folder loaded as a `Recommender`."""
    from adapt.recommender import load_recommender

    return load_recommender(model_folder)

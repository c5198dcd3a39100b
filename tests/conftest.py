"""Fixtures shared by the recommender, service and browser tests: one small trained model."""

import json

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


@pytest.fixture(scope="session")
def valid_request(served_data) -> dict:
    """A JSON request body for the first simulated person with at least two episodes."""
    data = served_data
    counts = data["episodes"].groupby("person_id").size()
    person_id = counts[counts >= 2].index[0]
    persons = data["persons"]
    person = persons[persons["person_id"] == person_id].drop(columns=["exit_day", "exit_reason"])
    mine = data["episodes"][data["episodes"]["person_id"] == person_id].sort_values("episode_no")
    history = mine.drop(columns=["person_id", "episode_no"]).head(2)
    return {
        "person": json.loads(person.to_json(orient="records"))[0],
        "history": json.loads(history.to_json(orient="records")),
        "k": 3,
        "lang": "sv",
    }

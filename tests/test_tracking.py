"""MLflow tracking on its real SQLite store: connection, run records, registry, sweeps."""

import os

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from adapt.features import decision_points
from adapt.models import make_learner
from adapt.planning import StepTransitions
from adapt.simulation import simulate
from adapt.tracking import (
    CONFIG_KEY_TAG,
    TrackingUnavailable,
    config_key,
    connect,
    finished_child,
    flatten,
    format_summary,
    local_store,
    log_recommender,
    open_sweep,
    promote_if_better,
    sweep_summary,
    synthetic_example,
)


@pytest.fixture
def store(tmp_path):
    uri, artifacts = local_store(tmp_path / "mlruns")
    experiment_id = connect(uri, "test", artifacts)
    yield experiment_id
    mlflow.set_tracking_uri(None)


@pytest.fixture(scope="module")
def learner():
    data = simulate(300, seed=2, truth=False)
    points = decision_points(data["persons"], data["episodes"])
    model = make_learner("s", n_estimators=20, n_bags=2, random_state=0)
    return model.fit(
        points.features, points.treatment, points.outcome, groups=points.keys.person_id
    )


def test_connect_creates_the_experiment_once(tmp_path, store):
    uri, artifacts = local_store(tmp_path / "mlruns")
    assert connect(uri, "test", artifacts) == store
    experiment = MlflowClient().get_experiment(store)
    assert experiment.artifact_location.startswith((tmp_path / "mlruns").as_uri())


def test_unreachable_server_is_named_and_later_calls_keep_their_retries(monkeypatch):
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    with pytest.raises(TrackingUnavailable, match="http://127.0.0.1:9: no answer"):
        connect("http://127.0.0.1:9", "test", timeout_seconds=2)
    # The single quick attempt applies to the start-up check only.
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ


def test_unwritable_sqlite_location_is_refused(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(TrackingUnavailable, match="cannot create"):
        connect(f"sqlite:///{blocker}/sub/mlflow.db", "test")


def test_flatten_and_config_key():
    nested = {"a": {"b": 1, "c": {"d": "x"}}, "e": [1, 2], "f": {}}
    assert flatten(nested) == {"a.b": 1, "a.c.d": "x", "e": "[1, 2]", "f": "{}"}
    assert config_key(nested) == config_key({"e": [1, 2], "f": {}, "a": {"c": {"d": "x"}, "b": 1}})
    assert config_key(nested) != config_key({**nested, "e": [2, 1]})


def test_synthetic_example_matches_the_model_and_holds_no_categories(learner):
    example = synthetic_example(learner)
    assert list(example.columns) == list(learner.feature_names_in_)
    assert not any(isinstance(t, pd.CategoricalDtype) for t in example.dtypes)
    assert learner.predict(example).notna().any(axis=None)


def test_registered_recommender_loads_and_champion_moves_only_when_better(store, learner):
    name = "recommender-test"
    transitions = StepTransitions.fit(simulate(300, seed=2, truth=False)["episodes"])
    versions = []
    for value in (0.5, 0.4, 0.7, 0.9):
        eligible = value != 0.9  # the best, but its fairness audit failed
        with mlflow.start_run(experiment_id=store):
            mlflow.log_metric("regret_closure", value)
            version = log_recommender(learner, name, transitions=transitions)
            versions.append(version.version)
            promoted, previous = promote_if_better(
                name, version.version, "regret_closure", value, eligible=eligible
            )
        champion = MlflowClient().get_model_version_by_alias(name, "champion")
        if value == 0.5:
            assert promoted and previous is None and champion.version == versions[0]
        elif value == 0.4:
            assert not promoted and previous == 0.5 and champion.version == versions[0]
        elif value == 0.7:
            assert promoted and previous == 0.5 and champion.version == versions[2]
        else:
            assert not promoted and previous == 0.7 and champion.version == versions[2]
            tags = MlflowClient().get_model_version(name, version.version).tags
            assert tags["eligible"] == "false"

    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    example = synthetic_example(learner)
    out = loaded.predict(example)
    assert list(out.columns) == ["recommended", *(f"p_{c}" for c in learner.interventions_)]
    assert np.allclose(
        out.drop(columns="recommended").to_numpy(float),
        learner.predict(example).to_numpy(float),
        equal_nan=True,
    )
    assert loaded.metadata.signature is not None


def _child(store, parent, key, seed, learner_name, value, status="FINISHED"):
    run = MlflowClient().create_run(store, tags={"mlflow.parentRunId": parent, CONFIG_KEY_TAG: key})
    client = MlflowClient()
    client.log_param(run.info.run_id, "seed", seed)
    client.log_param(run.info.run_id, "model.learner", learner_name)
    client.log_param(run.info.run_id, "data.name", "small")
    client.log_metric(run.info.run_id, "regret_closure", value)
    if status != "RUNNING":
        client.set_terminated(run.info.run_id, status)
    return run.info.run_id


def test_sweep_resumes_unfinished_parent_and_skips_finished_children(store):
    parent, resumed = open_sweep(store, "key-1", "sweep")
    assert not resumed
    done = _child(store, parent, "c1", 0, "s", 0.5)
    _child(store, parent, "c2", 1, "s", 0.7, status="RUNNING")  # interrupted

    again, resumed = open_sweep(store, "key-1", "sweep")
    assert resumed and again == parent
    assert finished_child(store, parent, "c1").info.run_id == done
    assert finished_child(store, parent, "c2") is None
    statuses = {
        r.info.status
        for r in MlflowClient().search_runs([store], f"tags.`{CONFIG_KEY_TAG}` = 'c2'")
    }
    assert statuses == {"KILLED"}  # the interrupted run no longer counts

    MlflowClient().set_terminated(parent)
    fresh, resumed = open_sweep(store, "key-1", "sweep")
    assert not resumed and fresh != parent
    other, _ = open_sweep(store, "key-2", "sweep")
    assert other not in (parent, fresh)


def test_sweep_summary_is_mean_and_sd_over_seeds(store):
    parent, _ = open_sweep(store, "key-summary", "sweep")
    values = {"s": [0.5, 0.7, 0.6], "t": [0.1, 0.3, 0.2]}
    for name, row in values.items():
        for seed, value in enumerate(row):
            _child(store, parent, f"{name}{seed}", seed, name, value)
    _child(store, parent, "s9", 9, "s", 99.0, status="KILLED")  # not counted
    summary = sweep_summary(store, parent, ["regret_closure"])
    assert list(summary.index) == ["s", "t"]
    assert summary.index.name == "model.learner"
    assert summary.loc["s", "runs"] == 3
    assert summary.loc["s", "regret_closure_mean"] == pytest.approx(0.6)
    assert summary.loc["t", "regret_closure_std"] == pytest.approx(np.std([0.1, 0.3, 0.2], ddof=1))
    text = format_summary(summary, ["regret_closure"])
    assert "model.learner=s" in text and "0.600 ± 0.100" in text

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
    DATA_TAG,
    SPLIT_TAG,
    TrackingUnavailable,
    config_key,
    connect,
    find_runs,
    finished_child,
    flatten,
    format_summary,
    local_folder,
    local_store,
    log_recommender,
    open_sweep,
    promote_if_better,
    split_id,
    sweep_summary,
    synthetic_example,
)


@pytest.fixture
def store(tmp_path):
    # An existing folder is used as it is when the store must not be created (a named store).
    (tmp_path / "mlruns").mkdir()
    uri, artifacts = local_store(tmp_path / "mlruns")
    experiment_id = connect(uri, "test", artifacts, create_folder=False)
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
    assert connect(uri, "test", artifacts, create_folder=False) == store
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


@pytest.mark.parametrize(
    "uri",
    [
        "{tmp}/missing",
        "file://{tmp}/missing",
        "sqlite:///{tmp}/missing/mlflow.db",
        "{tmp}/missing/deeper",
    ],
)
def test_a_named_local_store_that_does_not_exist_is_refused_not_created(tmp_path, uri):
    uri = uri.format(tmp=tmp_path)
    with pytest.raises(TrackingUnavailable, match="does not exist; a store you name is never"):
        connect(uri, "test", create_folder=False)
    assert not (tmp_path / "missing").exists()


def test_a_named_local_store_on_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(TrackingUnavailable, match="which is not a folder"):
        connect(str(tmp_path / "file"), "test", create_folder=False)


def test_local_folder_names_the_folder_of_local_stores_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert local_folder("runs") == (tmp_path / "runs", True)
    assert local_folder(f"file://{tmp_path}/a") == (tmp_path / "a", True)
    assert local_folder("sqlite:///db/mlflow.db") == (tmp_path / "db", False)
    assert local_folder(f"sqlite:///{tmp_path}/x/mlflow.db") == (tmp_path / "x", False)
    for remote in ("http://127.0.0.1:5000", "https://x.org", "databricks", "sqlite://"):
        assert local_folder(remote) is None


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


def test_registered_recommender_loads_and_champion_moves_only_when_better(
    store, learner, monkeypatch
):
    # MLflow's inference of pip requirements imports the model in a subprocess (most of the
    # time logging takes, four times here); the champion rule and loading do not depend on it,
    # and the registry tests (tests/test_registry_serving.py) cover it.
    monkeypatch.setattr(
        mlflow.models, "infer_pip_requirements", lambda *args, fallback=None, **kw: fallback
    )
    name = "recommender-test"
    transitions = StepTransitions.fit(simulate(300, seed=2, truth=False)["episodes"])
    versions = []
    same = {"fingerprint": "f" * 64, "split": split_id("f" * 64, 0.3, 0)}
    for value in (0.5, 0.4, 0.7, 0.9):
        eligible = value != 0.9  # the best, but its fairness audit failed
        with mlflow.start_run(experiment_id=store):
            mlflow.log_metric("regret_closure", value)
            version = log_recommender(learner, name, transitions=transitions)
            versions.append(version.version)
            decision = promote_if_better(
                name, version.version, "regret_closure", value, eligible=eligible, **same
            )
        promoted, previous = decision.promoted, decision.previous
        champion = MlflowClient().get_model_version_by_alias(name, "champion")
        if value == 0.5:
            assert promoted and previous is None and champion.version == versions[0]
            assert decision.reason == "first" and decision.holder is None
        elif value == 0.4:
            assert not promoted and previous == 0.5 and champion.version == versions[0]
            assert decision.reason == "not better" and decision.holder == str(versions[0])
        elif value == 0.7:
            assert promoted and previous == 0.5 and champion.version == versions[2]
            assert decision.reason == "better"
        else:
            assert not promoted and previous == 0.7 and champion.version == versions[2]
            assert decision.reason == "not eligible"
            tags = MlflowClient().get_model_version(name, version.version).tags
            assert tags["eligible"] == "false"
            assert tags[DATA_TAG] == same["fingerprint"] and tags[SPLIT_TAG] == same["split"]

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


PARENT = "mlflow.parentRunId"


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


def test_find_runs_reads_every_page_newest_first(store):
    parent, _ = open_sweep(store, "key-pages", "sweep")
    client = MlflowClient()
    made = [  # distinct start times: the order asked for is fixed
        client.create_run(store, start_time=1_000 + i, tags={PARENT: parent}).info.run_id
        for i in range(7)
    ]
    one_page = client.search_runs([store], f"tags.`{PARENT}` = '{parent}'", max_results=3)
    assert len(one_page) == 3 and one_page.token  # what a single call would have kept
    found = find_runs(store, {PARENT: parent}, page_size=3)
    assert [r.info.run_id for r in found] == made[::-1]
    assert find_runs(store, {PARENT: parent}, statuses=("FINISHED",), page_size=3) == []


def test_split_id_names_data_share_and_seed():
    base = split_id("a" * 64, 0.3, 0)
    assert len(base) == 12 and base == split_id("a" * 64, 0.3, 0)
    assert len({base, split_id("b" * 64, 0.3, 0), split_id("a" * 64, 0.2, 0)}) == 3
    assert split_id("a" * 64, 0.3, 1) != base


def _version(store, name, value, metric="regret_closure"):
    """A registered version of a run holding `metric` (no model logged: the rule needs none)."""
    client = MlflowClient()
    run = client.create_run(store)
    client.log_metric(run.info.run_id, metric, value)
    client.set_terminated(run.info.run_id)
    if not client.search_registered_models(f"name = '{name}'"):
        client.create_registered_model(name)
    source = f"runs:/{run.info.run_id}/recommender"
    return str(client.create_model_version(name, source, run_id=run.info.run_id).version)


def test_champion_compares_only_versions_validated_on_the_same_data_and_split(store):
    name, metric = "like-with-like", "regret_closure"
    a, b = "a" * 64, "b" * 64

    def promote(value, fingerprint, split, eligible=True):
        version = _version(store, name, value)
        return version, promote_if_better(
            name, version, metric, value, eligible=eligible, fingerprint=fingerprint, split=split
        )

    def holder():
        return str(MlflowClient().get_model_version_by_alias(name, "champion").version)

    first, decision = promote(0.5, a, split_id(a, 0.3, 0))
    assert decision.promoted and decision.reason == "first" and holder() == first

    # Better, but validated on other data: not compared, the holder keeps the alias.
    other, decision = promote(0.9, b, split_id(b, 0.3, 0))
    assert not decision.promoted and decision.reason == "other data" and holder() == first
    assert decision.holder == first and decision.previous == 0.5
    assert decision.holder_fingerprint == a and decision.holder_split == split_id(a, 0.3, 0)
    tags = MlflowClient().get_model_version(name, other).tags
    assert tags[DATA_TAG] == b and tags[SPLIT_TAG] == split_id(b, 0.3, 0)

    # Same data, another split (another seed): not compared either.
    _, decision = promote(0.9, a, split_id(a, 0.3, 1))
    assert decision.reason == "other data" and holder() == first

    # Worse on other data: the holder still keeps it, for the same stated reason.
    _, decision = promote(0.1, b, split_id(b, 0.3, 0))
    assert decision.reason == "other data" and holder() == first

    # Ineligible on other data: the audit is the reason given (it would never take the alias).
    _, decision = promote(0.9, b, split_id(b, 0.3, 0), eligible=False)
    assert decision.reason == "not eligible" and holder() == first

    # Same data and split: compared as before.
    better, decision = promote(0.6, a, split_id(a, 0.3, 0))
    assert decision.promoted and decision.reason == "better" and holder() == better

    # A holder registered without the record (before the rule) counts as other data.
    MlflowClient().delete_model_version_tag(name, better, DATA_TAG)
    _, decision = promote(0.99, a, split_id(a, 0.3, 0))
    assert decision.reason == "other data" and decision.holder_fingerprint is None
    assert holder() == better

    # Once the alias is removed, the next version takes it whatever its data.
    MlflowClient().delete_registered_model_alias(name, "champion")
    fresh, decision = promote(0.2, b, split_id(b, 0.3, 0))
    assert decision.promoted and decision.reason == "first" and holder() == fresh

"""The registered recommender: loaded by URI like a folder, version-checked, served by MLflow."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from adapt.features import decision_points
from adapt.models import load_model
from adapt.planning import StepTransitions
from adapt.recommender import load_recommender
from adapt.recommender._loading import _load
from adapt.tracking import connect, local_store, log_recommender

NAME = "adapt-recommender"
CHAMPION = f"models:/{NAME}@champion"
EPISODE_FIELDS = ["intervention", "start_day", "end_day", "hours", "step_before", "step_after"]


@pytest.fixture(scope="module")
def registered(model_folder, tmp_path_factory):
    """The model folder's learner logged, registered as `NAME` version 1 and made champion in
    a real SQLite store; yields the tracking URI."""
    uri, artifacts = local_store(tmp_path_factory.mktemp("registry") / "mlruns")
    experiment_id = connect(uri, "serving", artifacts)
    _load.cache_clear()  # the URI names a model of this store only
    with mlflow.start_run(experiment_id=experiment_id):
        version = log_recommender(
            load_model(model_folder), NAME, transitions=StepTransitions.load(model_folder)
        )
    MlflowClient().set_registered_model_alias(NAME, "champion", version.version)
    yield uri
    _load.cache_clear()
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def _person_with_history(data, min_episodes=2):
    episodes = data["episodes"]
    counts = episodes["person_id"].value_counts()
    pid = counts[counts >= min_episodes].index[0]
    person = data["persons"].set_index("person_id").loc[pid]
    person = person.drop(["exit_day", "exit_reason"], errors="ignore")
    history = episodes[episodes["person_id"] == pid].sort_values("episode_no")[EPISODE_FIELDS]
    return person, history


def test_champion_uri_answers_as_the_folder_does(registered, recommender, served_data):
    by_uri = load_recommender(CHAMPION)
    assert by_uri is load_recommender(CHAMPION)  # loaded once, reused
    assert by_uri.version == f"{NAME}/1"
    person, history = _person_with_history(served_data)
    from_uri = by_uri.recommend(person, history, k=3, lang="en").model_dump()
    from_folder = recommender.recommend(person, history, k=3, lang="en").model_dump()
    assert from_uri.pop("model_version") == f"{NAME}/1"
    from_folder.pop("model_version")
    assert from_uri == from_folder


def test_pyfunc_takes_decision_point_features_as_returned(registered, served_data, model_folder):
    features = decision_points(served_data["persons"], served_data["episodes"]).features.head(40)
    assert any(isinstance(t, pd.CategoricalDtype) for t in features.dtypes)
    assert any(t.kind == "i" for t in features.dtypes if isinstance(t, np.dtype))
    pyfunc = mlflow.pyfunc.load_model(CHAMPION)
    out = pyfunc.predict(features)
    learner = load_model(model_folder)
    expected = learner.predict(features)
    assert len(out) == len(features)
    assert np.allclose(
        out[expected.columns].to_numpy(float), expected.to_numpy(float), equal_nan=True
    )
    # ... and the same rows as a JSON client sends them: plain strings.
    plain = features.astype({c: object for c in learner.categories_})
    assert out.equals(pyfunc.predict(plain))
    wrong = features.astype({"region": object}).assign(region="atlantis")
    with pytest.raises(ValueError, match="region"):
        pyfunc.predict(wrong)


def _data_folder(served_data, folder, n_persons=60):
    """The first `n_persons` served persons and their episodes, as a data folder."""
    folder.mkdir()
    persons = served_data["persons"].head(n_persons)
    persons.to_parquet(folder / "persons.parquet")
    episodes = served_data["episodes"]
    episodes[episodes["person_id"].isin(persons["person_id"])].to_parquet(
        folder / "episodes.parquet"
    )
    return folder


def test_recommend_next_takes_the_champion_uri(registered, model_folder, served_data, tmp_path):
    from click.testing import CliRunner

    from adapt.cli import main

    data = _data_folder(served_data, tmp_path / "data")
    tables = {}
    for mode in (["--next"], []):
        for label, model in (("uri", CHAMPION), ("folder", model_folder)):
            out = tmp_path / f"{label}{len(mode)}.parquet"
            result = CliRunner().invoke(
                main,
                ["recommend", *mode, "--model", str(model), "--data", str(data)]
                + ["--out", str(out)],
            )
            assert result.exit_code == 0, result.output
            tables[label] = pd.read_parquet(out)
        pd.testing.assert_frame_equal(tables["uri"], tables["folder"])


def test_plan_takes_the_champion_uri_and_plans_as_the_folder_does(
    registered, model_folder, served_data, tmp_path
):
    from click.testing import CliRunner

    from adapt.cli import main

    data = _data_folder(served_data, tmp_path / "data")
    plans = {}
    for label, model in (
        ("uri", CHAMPION),
        ("version", f"models:/{NAME}/1"),
        ("folder", model_folder),
    ):
        out = tmp_path / f"{label}.parquet"
        result = CliRunner().invoke(
            main,
            ["plan", "--model", str(model), "--data", str(data), "--k", "2", "--out", str(out)],
        )
        assert result.exit_code == 0, result.output
        plans[label] = pd.read_parquet(out)
    assert len(plans["folder"]) == 2 * 60
    pd.testing.assert_frame_equal(plans["uri"], plans["folder"])
    pd.testing.assert_frame_equal(plans["version"], plans["folder"])


@pytest.mark.parametrize(
    ("source", "message"),
    [
        # MLflow before 3.10 names the alias it looked for, later ones the model
        (
            "models:/no-such-model@champion",
            r"Registered (Model with name=no-such-model|model alias champion) not found",
        ),
        (f"models:/{NAME}@no-such-alias", "Registered model alias no-such-alias not found"),
        ("no/such/folder", r"no such model folder \(nor an MLflow model URI\)"),
    ],
    ids=["unknown model", "unknown alias", "missing folder"],
)
def test_plan_refuses_a_model_source_it_cannot_load_in_one_line(
    registered, served_data, tmp_path, source, message
):
    from click.testing import CliRunner

    from adapt.cli import main

    data = _data_folder(served_data, tmp_path / "data")
    out = tmp_path / "plans.parquet"
    result = CliRunner().invoke(
        main, ["plan", "--model", source, "--data", str(data), "--out", str(out)], prog_name="adapt"
    )
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert result.output.count("\n") == 1, result.output
    line = result.output.strip()
    assert line.startswith(f"Error: adapt plan: Invalid value for '--model': {source}"), line
    assert re.search(message, line) and not out.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("catalogue_fingerprint", "0000", "another catalogue"),
        ("contract_version", "0.0", "data contract version 0.0"),
    ],
)
def test_a_model_made_for_another_catalogue_or_contract_is_refused(
    model_folder, tmp_path, field, value, message
):
    copy = tmp_path / "model"
    shutil.copytree(model_folder, copy)
    card = json.loads((copy / "model.json").read_text())
    card[field] = value
    (copy / "model.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match=message):
        load_recommender(copy)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url, data=None, timeout=5):
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json"} if data else {}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read()


# 25-45 s (MLflow starts uvicorn and loads the model in a new process); the issue asks for it.
def test_mlflow_models_serve_answers_the_input_example(registered, tmp_path):
    local = mlflow.artifacts.download_artifacts(artifact_uri=CHAMPION, dst_path=str(tmp_path))
    with open(os.path.join(local, "serving_input_example.json"), "rb") as f:
        example = f.read()
    port = _free_port()
    # MLflow starts `uvicorn` from PATH, as in an activated environment.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = {**os.environ, "MLFLOW_TRACKING_URI": registered, "PATH": path}
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", CHAMPION]
    command += ["--env-manager", "local", "--host", "127.0.0.1", "-p", str(port), "-w", "1"]
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if _get(f"{base}/ping", timeout=2)[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(1)
        status, body = _get(f"{base}/invocations", data=example, timeout=60)
        assert status == 200
        predictions = json.loads(body)["predictions"]
        rows = len(json.loads(example)["dataframe_split"]["data"])
        assert len(predictions) == rows
        assert all(isinstance(p["recommended"], str) for p in predictions)
        assert any(k.startswith("p_") for k in predictions[0])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()

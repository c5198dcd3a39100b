"""The Hydra entry point: config validation at start-up, tracking, sweeps, resume, reproducibility.

The command line's tests run `python -m experiments.run` for real (Hydra, the joblib launcher,
MLflow's SQLite store) on a small simulated world; tests of what a single run does and records
run its `main` in this process (`run_in_process`), which spares each a new interpreter.
"""

import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from copy import deepcopy
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import mlflow
import pandas as pd
import pytest
from click.testing import CliRunner
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.errors import ConfigCompositionException
from hypothesis import given, settings
from hypothesis import strategies as st
from mlflow import MlflowClient
from omegaconf import OmegaConf

import experiments.run  # registers the schema
from adapt.cli import main as adapt_cli
from adapt.tracking import local_store, split_id
from experiments.config import config_problems

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def compose_config(overrides=(), config_dir=CONFIGS, hydra_node=False):
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=hydra_node)


def run_experiment(tmp_path, *args, check=True, tracking_uri=None, cwd=ROOT, local_root=None):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    if tracking_uri:
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    flags = [a for a in args if a.startswith("-")]  # argparse wants them before the overrides
    command = [
        sys.executable,
        "-m",
        "experiments.run",
        *flags,
        f"tracking.local_root={local_root or tmp_path / 'mlruns'}",
        f"hydra.run.dir={tmp_path / 'outputs'}",
        f"hydra.sweep.dir={tmp_path / 'multirun'}",
        *(a for a in args if not a.startswith("-")),
    ]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def run_in_process(tmp_path, monkeypatch, capsys, *overrides, tracking_uri=None) -> str:
    """A single run as `run_experiment` makes it, in this process: `experiments.run.main` on the
    composed config, with Hydra's runtime set as for a single run (as in
    tests/test_catalogue_everywhere.py). For tests of what a run does and records; the command
    line itself (Hydra's entry, sweeps, where a run is launched, stopping before any work) is
    tested with `run_experiment`. Returns what the run printed."""
    if tracking_uri:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)
    else:
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    overrides = [f"tracking.local_root={tmp_path / 'mlruns'}", *overrides]
    runtime = compose_config(overrides, hydra_node=True)
    OmegaConf.update(runtime, "hydra.mode", "RUN")
    OmegaConf.update(runtime, "hydra.runtime.output_dir", str(tmp_path / "outputs"))
    (tmp_path / "outputs").mkdir(exist_ok=True)
    cfg = compose_config(overrides)  # as Hydra hands it to main: without the hydra node
    capsys.readouterr()
    HydraConfig.instance().set_config(runtime)
    try:
        experiments.run.main(cfg)
    finally:
        HydraConfig.instance().cfg = None
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
    return capsys.readouterr().out


def skip_pip_inference(monkeypatch):
    """Log models without MLflow's inference of pip requirements, which imports the model in a
    subprocess (most of the time registering takes): what these tests check does not depend
    on it, and tests/test_registry_serving.py registers with it (as tests/test_model_card.py
    does)."""
    monkeypatch.setattr(
        mlflow.models, "infer_pip_requirements", lambda *args, fallback=None, **kw: fallback
    )


def client_for(tmp_path) -> MlflowClient:
    uri, _ = local_store(tmp_path / "mlruns")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(uri, uri)


def runs_of(client, **tags):
    experiment = client.get_experiment_by_name("adapt")
    query = " and ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items())
    return client.search_runs([experiment.experiment_id], query, order_by=["start_time ASC"])


# -- configuration ----------------------------------------------------------------------------
def test_default_config_composes_with_its_schema():
    cfg = compose_config()
    assert cfg.data.name == "mia" and cfg.data.n_persons == 2234
    assert cfg.model.learner.value == "s"
    assert cfg.evaluation.metric == "regret_closure"
    assert cfg.planning.enabled and list(cfg.planning.horizons) == [1, 2, 3, 4]
    assert not compose_config(["planning=off"]).planning.enabled
    assert compose_config([]).allocation.enabled
    assert not compose_config(["allocation=off"]).allocation.enabled


def test_the_schema_allows_the_planners_horizons():
    from adapt.planning import MAX_K
    from experiments.config import MAX_HORIZON

    assert MAX_HORIZON == MAX_K


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.n_person=5", "n_person"),
        ("model.n_bags=many", "n_bags"),
        ("model.learner=z", "learner"),
        ("evaluation.min_uplift=lots", "min_uplift"),
        ("seed=abc", "seed"),
        ("model=zz", "zz"),
        ("planning.horizons=[a]", "horizons"),
        ("planning.start=5", "start"),
    ],
)
def test_mistyped_keys_and_wrong_types_fail_at_composition(override, message):
    with pytest.raises(ConfigCompositionException) as error:
        compose_config([override])
    assert message in str(error.value) + str(error.value.__cause__)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.n_persons=0", "data.n_persons: expected an integer >= 1, got 0"),
        ("data.validation_share=1.0", "data.validation_share: expected a share strictly"),
        ("model.learning_rate=0", "model.learning_rate: expected a number > 0, got 0.0"),
        ("model.n_folds=1", "model.n_folds: expected an integer >= 2, got 1"),
        ("evaluation.propensity_clip=0.7", "evaluation.propensity_clip: expected a number in"),
        ("explain.n_rows=0", "explain.n_rows: expected an integer >= 1, got 0"),
        ("data.preset=nope", "data: unknown world preset 'nope'"),
        (
            "+data.overrides={knobs.effect_scal: 2}",
            "data: unknown world parameter 'knobs.effect_scal'",
        ),
        ("data=folder", "data.path: the folder source needs a path"),
        (
            "planning.horizons=[0]",
            "planning.horizons: expected a non-empty list of plan lengths from 1 to 5, got [0]",
        ),
        ("planning.horizons=[1,6]", "planning.horizons: expected a non-empty list"),
        ("planning.horizons=[]", "planning.horizons: expected a non-empty list"),
        ("planning.starts=-1", "planning.starts: expected an integer >= 1, got -1"),
        ("planning.beam_width=0", "planning.beam_width: expected an integer >= 1, got 0"),
    ],
)
def test_out_of_range_settings_are_named(override, message):
    from experiments.run import world_overrides

    cfg = compose_config([override] + (["data.path=null"] if override == "data=folder" else []))
    problems = config_problems(cfg, world_overrides(cfg.data))
    assert len(problems) == 1 and problems[0].startswith(message)


@cache
def default_config():
    """The default config, composed once (a copy is changed per example)."""
    return compose_config()


@settings(max_examples=40, deadline=None)
@given(
    n_persons=st.integers(-5, 50),
    share=st.floats(-0.5, 1.5, allow_nan=False),
    n_bootstrap=st.integers(-3, 3),
)
def test_range_checks_flag_exactly_the_values_outside(n_persons, share, n_bootstrap):
    from experiments.run import world_overrides

    cfg = deepcopy(default_config())
    cfg.data.n_persons, cfg.data.validation_share = n_persons, share
    cfg.evaluation.n_bootstrap = n_bootstrap
    flagged = {p.split(":")[0] for p in config_problems(cfg, world_overrides(cfg.data))}
    expected = {
        name
        for name, bad in (
            ("data.n_persons", n_persons < 1),
            ("data.validation_share", not 0 < share < 1),
            ("evaluation.n_bootstrap", n_bootstrap < 0),
        )
        if bad
    }
    assert flagged == expected


def test_default_settings_have_no_problems():
    from experiments.run import world_overrides

    cfg = compose_config()
    assert config_problems(cfg, world_overrides(cfg.data)) == []


def test_out_of_range_setting_on_the_command_line_stops_before_any_work(tmp_path):
    done = run_experiment(
        tmp_path, "data.n_persons=0", "model.n_jobs=0", "planning.horizons=[0]", check=False
    )
    assert done.returncode != 0
    assert "data.n_persons: expected an integer >= 1, got 0" in done.stderr
    assert "model.n_jobs: expected an integer >= 1, got 0" in done.stderr
    assert "planning.horizons: expected a non-empty list of plan lengths" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "mlruns").exists()


def test_a_mistyped_key_in_a_group_file_fails(tmp_path):
    shutil.copytree(CONFIGS, tmp_path / "configs")
    (tmp_path / "configs" / "data" / "bad.yaml").write_text("name: bad\nn_persons_: 10\n")
    with pytest.raises(ConfigCompositionException) as error:
        compose_config(["data=bad"], config_dir=tmp_path / "configs")
    assert "n_persons_" in str(error.value) + str(error.value.__cause__)


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONFIGS / "experiment").glob("*.yaml")))
def test_experiment_presets_compose_as_sweeps(name):
    cfg = compose_config([f"+experiment={name}"], hydra_node=True)
    assert cfg.hydra.mode.name == "MULTIRUN"
    assert cfg.hydra.sweeper.params


def test_mistyped_key_on_the_command_line_stops_before_any_work(tmp_path):
    done = run_experiment(tmp_path, "data.n_person=5", check=False)
    assert done.returncode != 0
    assert "n_person" in done.stderr
    assert not (tmp_path / "mlruns").exists()


def test_unreachable_tracking_store_stops_before_any_work(tmp_path):
    done = run_experiment(
        tmp_path, "tracking.uri=http://127.0.0.1:9", "tracking.timeout_seconds=2", check=False
    )
    assert done.returncode != 0
    assert "cannot reach the MLflow tracking store at http://127.0.0.1:9" in done.stderr
    assert "seconds" not in done.stdout  # no stage ran


@pytest.mark.parametrize("scheme", ["", "file://", "sqlite:///"])
def test_a_tracking_uri_naming_a_missing_folder_is_refused_not_created(tmp_path, scheme):
    missing = tmp_path / "no-such-folder"
    uri = f"{scheme}{missing}" + ("/mlflow.db" if scheme == "sqlite:///" else "")
    done = run_experiment(tmp_path, "data=small", tracking_uri=uri, check=False)
    assert done.returncode != 0
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("Error:")]
    assert f"names the folder {missing}" in line and "which does not exist" in line
    assert "[adapt]" not in done.stdout  # no stage ran
    assert not missing.exists() and not (tmp_path / "mlruns").exists()


@pytest.fixture(scope="module")
def refused_folder_run(tmp_path_factory):
    """A run on a folder breaking the data contract, launched outside the project with a store
    relative to it: it stops at its data stage. Read by the two tests below."""
    root = tmp_path_factory.mktemp("refused")
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    store = root / "store"
    # Relative to the project this is `store`; relative to `elsewhere` it would be another place.
    relative = os.path.relpath(store, ROOT)
    bad = root / "bad"  # breaks the contract: the run stops at its data stage
    bad.mkdir()
    pd.DataFrame({"person_id": [1]}).to_csv(bad / "persons.csv", index=False)
    pd.DataFrame({"person_id": [1]}).to_csv(bad / "episodes.csv", index=False)
    done = run_experiment(
        root, "data=folder", f"data.path={bad}", cwd=elsewhere, local_root=relative, check=False
    )
    return SimpleNamespace(done=done, elsewhere=elsewhere, store=store)


def test_the_embedded_store_is_anchored_to_the_project_wherever_the_run_is_launched(
    refused_folder_run,
):
    done, store = refused_folder_run.done, refused_folder_run.store
    assert "Error: data 'folder'" in done.stderr
    assert (store / "mlflow.db").exists()
    assert list(refused_folder_run.elsewhere.iterdir()) == []
    uri, _ = local_store(store)
    experiment = MlflowClient(uri, uri).get_experiment_by_name("adapt")
    assert experiment.artifact_location == (store / "artifacts" / "adapt").as_uri()


# -- runs ---------------------------------------------------------------------------------------
def test_run_tracks_config_data_metrics_plots_and_registers_a_champion(
    tmp_path, monkeypatch, capsys
):
    skip_pip_inference(monkeypatch)
    out = run_in_process(
        tmp_path,
        monkeypatch,
        capsys,
        "data=small",
        "data.calibration_targets=mia",
        "explain.n_rows=10",
        "planning.horizons=[1,2]",
        "planning.starts=150",
    )
    client = client_for(tmp_path)
    (run,) = runs_of(client)
    assert run.info.status == "FINISHED"
    assert run.data.params["model.learner"] == "s" and run.data.params["data.name"] == "small"
    assert len(run.data.tags["adapt.data_fingerprint"]) == 64
    assert run.data.tags["adapt.data_name"] == "small"
    assert run.data.tags["adapt.data_preset"] == "default"
    assert run.info.run_name == "small-s-seed0"
    # Every stage says when it starts and how long it took.
    stages = ("data", "calibration", "features", "train", "evaluate", "planning", "allocation")
    for stage in (*stages, "audit", "explain", "register"):
        assert f"[adapt] {stage}: started\n" in out
        assert re.search(rf"^\[adapt\] {stage}: \d+\.\d s$", out, re.MULTILINE), stage
    assert run.data.tags["mlflow.source.git.commit"]
    for metric in (
        "regret_closure",
        "true_value",
        "dr_value",
        "mean_qini",
        "time_train_s",
        "audit_true_progression_gap_recommender",
        "audit_family_share_gap_employment_support",
        "audit_checks_cannot_judge_recommender",
        "time_planning_s",
    ):
        assert metric in run.data.metrics
    planned = {k: v for k, v in run.data.metrics.items() if k.startswith("plan_")}
    assert set(planned) == {
        f"{name}_k{k}"
        for name in ("plan_gain_closure", "plan_value", "plan_value_behaviour", "plan_value_best")
        for k in (1, 2)
    }
    assert all(math.isfinite(v) for v in planned.values())
    assert run.data.metrics["n_plan_starts"] == 150
    # the places caseworkers used, allocated among held-out persons: none over-filled, and by
    # the project's own estimates worth more than the caseworkers' choices
    metrics = run.data.metrics
    assert metrics["allocation_overfilled"] == 0
    assert metrics["allocation_value"] >= metrics["allocation_value_caseworkers"]
    assert metrics["allocation_true_value_best"] >= metrics["allocation_true_value"]
    assert math.isfinite(metrics["allocation_closure"])
    files = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {
        "config.json",
        "calibration_report.txt",
        "calibration_report.csv",
        "feature_importance.csv",
        "planning_report.csv",
        "allocation_cells.csv",
        "plots",
        "audit",
        "model_card",
    } <= files
    audit = {a.path for a in client.list_artifacts(run.info.run_id, "audit")}
    assert audit == {"audit/audit.json", "audit/report.html"}
    card = {a.path for a in client.list_artifacts(run.info.run_id, "model_card")}
    assert card == {"model_card/model_card.md", "model_card/model_card.html"}
    card_text = client.download_artifacts(run.info.run_id, "model_card/model_card.md")
    assert "Gender-blind: yes" in Path(card_text).read_text()
    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert plots == {
        f"plots/{name}.png"
        for name in (
            "policy_values",
            "qini_curves",
            "feature_importance",
            "shap_beeswarm",
            "shap_bar",
            "plan_values",
        )
    }

    # the default recommender is gender-blind and passes its audit, so it becomes champion
    assert run.data.metrics["audit_passed"] == 1.0
    champion = client.get_model_version_by_alias("adapt-recommender", "champion")
    assert champion.run_id == run.info.run_id
    # ... recording what it was validated on, so later versions are compared like with like.
    fingerprint = run.data.tags["adapt.data_fingerprint"]
    assert champion.tags["adapt.data_fingerprint"] == fingerprint
    assert champion.tags["adapt.split"] == split_id(fingerprint, 0.3, 0)
    assert champion.tags["adapt.validation_share"] == "0.3" and champion.tags["adapt.seed"] == "0"
    assert champion.tags["adapt.data_name"] == "small"
    assert "is the new champion (was none)" in out
    model = mlflow.pyfunc.load_model("models:/adapt-recommender@champion")
    example = model.input_example
    assert "recommended" in model.predict(example).columns


# Tracking mechanics, not model quality: a smaller model keeps these runs short.
SMALL_MODEL = ("model.n_bags=2", "model.n_estimators=60", "evaluation.n_bootstrap=50")


def test_same_config_and_seed_give_the_same_metrics_to_the_last_digit(
    tmp_path, monkeypatch, capsys
):
    args = ("data=small", "tracking.register=false", "seed=4", "explain.n_rows=10", "planning=off")
    args += SMALL_MODEL
    # once from the command line, once in this process (after whatever ran here before)
    run_experiment(tmp_path, *args)
    run_in_process(tmp_path, monkeypatch, capsys, *args)
    first, second = runs_of(client_for(tmp_path))

    def results(run):
        return {k: v for k, v in run.data.metrics.items() if not k.startswith("time_")}

    assert results(first) == results(second)
    assert len(results(first)) > 10
    assert not any(k.startswith("plan_") or k == "time_planning_s" for k in first.data.metrics)
    artifacts = {a.path for a in client_for(tmp_path).list_artifacts(first.info.run_id, "plots")}
    assert "plots/plan_values.png" not in artifacts
    tag = "adapt.data_fingerprint"
    assert first.data.tags[tag] == second.data.tags[tag]


def test_sweep_nests_children_summarises_and_resumes(tmp_path):
    args = (
        "-m",
        "data=small",
        "model=s,t",  # two children, run side by side by the joblib launcher
        "seed=0",
        # the sweep's mechanics, not the audit, plots or explanation (tested in the runs above)
        "explain=off",
        "planning=off",
        "fairness=off",
        "evaluation.plots=false",
        *SMALL_MODEL,
    )
    done = run_experiment(tmp_path, *args)
    assert "started sweep run" in done.stdout
    client = client_for(tmp_path)
    (parent,) = runs_of(client, **{"adapt.role": "sweep"})
    children = runs_of(client, **{"mlflow.parentRunId": parent.info.run_id})
    assert len(children) == 2 and {c.info.status for c in children} == {"FINISHED"}
    # A sweep's runs register only when asked (tracking.register_sweep=true).
    assert "the sweep's runs are not registered" in done.stdout
    assert "[adapt] train: started" in done.stdout and "[adapt] register" not in done.stdout
    assert client.search_model_versions() == []
    assert not any("adapt.model_version" in c.data.tags for c in children)
    summary = pd.read_csv(
        mlflow.artifacts.download_artifacts(
            run_id=parent.info.run_id, artifact_path="summary.csv", dst_path=str(tmp_path / "s")
        )
    )
    assert list(summary["model.learner"]) == ["s", "t"] and list(summary["runs"]) == [1, 1]

    # An interrupted sweep: the parent never finished and one child was cut off.
    client.set_terminated(parent.info.run_id, "KILLED")
    cut = children[-1]
    client.set_terminated(cut.info.run_id, "KILLED")
    done = run_experiment(tmp_path, *args)
    assert "resuming sweep run" in done.stdout
    assert done.stdout.count("not redone") == 1
    after = runs_of(client, **{"mlflow.parentRunId": parent.info.run_id})
    finished = [c for c in after if c.info.status == "FINISHED"]
    assert len(after) == 3 and len(finished) == 2
    assert {c.info.run_id for c in children[:-1]} <= {c.info.run_id for c in finished}
    assert client.get_run(parent.info.run_id).info.status == "FINISHED"


@pytest.fixture
def mlflow_server(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(tmp_path / "server-artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=tmp_path,
        # Without MLflow's job runner (GenAI jobs, which these runs never use): it starts seven
        # huey consumer processes that keep most of a core busy and outlive the server by seconds.
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the MLflow server did not start")
        yield uri
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_mlflow_tracking_uri_sends_runs_to_a_real_server(
    tmp_path, mlflow_server, monkeypatch, capsys
):
    skip_pip_inference(monkeypatch)
    run_in_process(
        tmp_path,
        monkeypatch,
        capsys,
        "data=small",
        "explain=off",
        "planning=off",
        "fairness=off",
        "evaluation.plots=false",
        *SMALL_MODEL,
        tracking_uri=mlflow_server,
    )
    client = MlflowClient(mlflow_server, mlflow_server)
    experiment = client.get_experiment_by_name("adapt")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and "regret_closure" in run.data.metrics
    assert client.get_model_version_by_alias("adapt-recommender", "champion").run_id == (
        run.info.run_id
    )
    assert not (tmp_path / "mlruns").exists()  # nothing went to the embedded store


def test_folder_without_truth_is_judged_by_the_dr_estimate(tmp_path, monkeypatch, capsys):
    data = tmp_path / "real"
    args = ["generate", "--n-persons", "800", "--seed", "3", "--out", str(data)]
    made = CliRunner().invoke(adapt_cli, args, prog_name="adapt")
    assert made.exit_code == 0, made.output
    shutil.rmtree(data / "truth")
    out = run_in_process(
        tmp_path,
        monkeypatch,
        capsys,
        "data=folder",
        f"data.path={data}",
        "explain=off",
        *SMALL_MODEL,
    )
    assert "planning: skipped, the folder data were not simulated in this run" in out
    (run,) = runs_of(client_for(tmp_path))
    # The run names its data: the folder's name and absolute path.
    assert run.data.tags["adapt.data_name"] == "real"
    assert run.data.tags["adapt.data_path"] == str(data.resolve())
    assert run.info.run_name == "real-s-seed0"
    assert not any(k.startswith("plan_") for k in run.data.metrics)
    assert "regret_closure" not in run.data.metrics
    assert run.data.tags["adapt.validation_metric"] == "dr_value"
    assert run.data.metrics["validation_metric"] == run.data.metrics["dr_value"]
    # valued by the model's estimates (no truth in a folder); 240 held-out persons are enough
    # women and men to compare
    assert run.data.tags["adapt.audit_verdict"] in ("passed", "failed")
    assert "audit_estimated_progression_gap_recommender" in run.data.metrics
    assert "audit_true_progression_gap_recommender" not in run.data.metrics


def test_a_folder_breaking_the_contract_is_refused_with_its_violations(refused_folder_run):
    done = refused_folder_run.done
    assert done.returncode != 0
    assert "Error: data 'folder'" in done.stderr and "persons" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("override", "line"),
    [
        ("data.knobs.positivity=1.5", "Error: data: knobs.positivity = 1.5: expected a number in"),
        ("seed=-1", "Error: seed: expected an integer >= 0, got -1"),
        ("+data.overrides={knobs.effect_scale: two}", "Error: data: knobs.effect_scale = 'two'"),
        ("data.calibration_targets=nosuch", "Error: data.calibration_targets: no target set"),
    ],
)
def test_a_bad_world_parameter_seed_or_target_set_stops_before_any_work_in_one_line(
    tmp_path, override, line
):
    done = run_experiment(tmp_path, override, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith(line) and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "mlruns").exists()


# -- registration rules (no run needed) ---------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "sweep", "expected"),
    [
        ((), False, True),
        ((), True, False),
        (("tracking.register_sweep=true",), True, True),
        (("tracking.register=false",), False, False),
        (("tracking.register=false", "tracking.register_sweep=true"), True, False),
    ],
)
def test_a_sweeps_runs_register_only_when_asked(overrides, sweep, expected):
    from experiments.run import registers

    assert registers(compose_config(overrides), sweep) is expected


def test_folder_runs_are_tagged_with_the_folders_name_and_absolute_path(tmp_path, monkeypatch):
    from experiments.run import data_label, data_tags

    monkeypatch.chdir(tmp_path)
    cfg = compose_config(["data=folder", "data.path=exports/2024"])
    assert data_label(cfg) == "2024"
    assert data_tags(cfg) == {
        "adapt.data_source": "folder",
        "adapt.data_name": "2024",
        "adapt.data_path": str(tmp_path / "exports" / "2024"),
    }
    simulated = data_tags(compose_config(["data=small"]))
    assert simulated["adapt.data_name"] == "small" and simulated["adapt.data_preset"] == "default"


def test_a_version_from_other_data_is_told_why_it_does_not_take_the_champion():
    from adapt.tracking import Promotion
    from experiments.run import promotion_line

    a, b = "a" * 64, "b" * 64
    split_a, split_b = split_id(a, 0.3, 0), split_id(b, 0.3, 0)

    def line(decision, fingerprint, split):
        args = ("m", "4", "regret_closure", 0.9, "champion", decision, fingerprint, split)
        return promotion_line(*args)

    other = Promotion(False, "other data", 0.5, "3", a, split_a)
    text = line(other, b, split_b)
    assert "\n" not in text
    assert text.startswith("m v4 (regret_closure 0.9000) does not take champion: v3 holds it, ")
    assert f"validated on other data (data {a[:12]}, split {split_a}" in text
    assert f"this run: data {b[:12]}, split {split_b})" in text
    assert "tracking.champion_alias=" in text and "remove 'champion' from v3" in text
    assert "validated on another split of the same data" in line(other, a, split_id(a, 0.3, 1))
    better = Promotion(True, "better", 0.5, "3", a, split_a)
    assert line(better, a, split_a) == (
        "m v4 (regret_closure 0.9000) is the new champion (was 0.5000)"
    )


def test_model_auto_records_every_candidate_and_runs_on_with_its_choice(
    tmp_path, monkeypatch, capsys
):
    skip_pip_inference(monkeypatch)
    run_in_process(
        tmp_path,
        monkeypatch,
        capsys,
        "model=auto",
        "model.n_bags=2",
        "data.n_persons=900",
        "explain.n_rows=100",
        "planning.horizons=[2]",
        "planning.starts=50",
        "evaluation.n_bootstrap=50",
        "tracking.register=false",
    )
    client = client_for(tmp_path)
    (run,) = runs_of(client)
    chosen = run.data.tags["adapt.auto_choice"]
    assert run.data.tags["adapt.auto_fallback"] in ("True", "False")
    path = client.download_artifacts(run.info.run_id, "auto_selection.csv", str(tmp_path))
    table = pd.read_csv(path)
    assert table["candidate"].iloc[0] == "blend/regularised"
    assert table.set_index("candidate").loc[chosen, "status"] == "chosen"
    # the chosen learner went through the whole run: evaluated, audited, explained, planned
    for metric in ("regret_closure", "plan_gain_closure_k2", "mean_qini"):
        assert metric in run.data.metrics, sorted(run.data.metrics)
    assert run.data.tags["adapt.audit_verdict"] in ("passed", "failed", "cannot_judge")


def test_a_sweep_fans_out_over_a_dask_cluster(tmp_path):
    """``hydra/launcher=dask``: the sweep's jobs run as tasks on a LocalCluster of 2 workers,
    and their runs nest under the sweep's parent run as with joblib."""
    args = (
        "-m",
        "hydra/launcher=dask",
        "hydra.launcher.n_jobs=2",
        "data=small",
        "model=s",
        "seed=0,1",
        "explain=off",
        "planning=off",
        "allocation=off",
        "fairness=off",
        "evaluation.plots=false",
        *SMALL_MODEL,
    )
    done = run_experiment(tmp_path, *args)
    assert "Dask launcher: 2 jobs on DaskEngine(a LocalCluster, workers=2)" in (
        done.stdout + done.stderr
    )
    client = client_for(tmp_path)
    (parent,) = runs_of(client, **{"adapt.role": "sweep"})
    children = runs_of(client, **{"mlflow.parentRunId": parent.info.run_id})
    assert len(children) == 2 and {c.info.status for c in children} == {"FINISHED"}
    assert sorted(c.data.params["seed"] for c in children) == ["0", "1"]

"""One catalogue everywhere ([H] 5): a region added in a catalogue YAML can be simulated, trained
on, recommended and planned for, from the command line (`--catalogue`) and from the experiment
config (`catalogue=`)."""

from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import mlflow
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from adapt.catalogue import load_catalogue
from adapt.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
REGION = "gotland"
OFFERS = ["case_management", "supported_employment", "activity_centre", "guidance"]


def _write_catalogues(folder: Path) -> tuple[Path, Path]:
    """The built-in catalogue copied as it is, and with the new region added."""
    text = resources.files("adapt.catalogue").joinpath("catalogue.yaml").read_text("utf-8")
    (folder / "builtin.yaml").write_text(text, "utf-8")
    raw = yaml.safe_load(text)
    # mia_participants weighs the region in the simulated mix; its other world parameters are
    # the presets' `default` entries
    raw["regions"][REGION] = {"name": "Gotland", "mia_participants": 400, "offers": OFFERS}
    (folder / "regions.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return folder / "regions.yaml", folder / "builtin.yaml"


def _adapt(*args) -> SimpleNamespace:
    result = CliRunner().invoke(main, [str(a) for a in args], prog_name="adapt")
    return SimpleNamespace(code=result.exit_code, output=result.output, exception=result.exception)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """600 simulated persons over the extended catalogue and an S-learner trained for it."""
    root = tmp_path_factory.mktemp("catalogue")
    catalogue, builtin = _write_catalogues(root)
    data, model = root / "data", root / "model"
    made = _adapt(
        "generate", "--n-persons", 600, "--seed", 5, "--out", data, "--catalogue", catalogue
    )
    assert made.code == 0, made.output
    trained = _adapt(
        "train", "--data", data, "--out", model, "--n-bags", 2, "--catalogue", catalogue
    )
    assert trained.code == 0, trained.output
    return SimpleNamespace(root=root, catalogue=catalogue, builtin=builtin, data=data, model=model)


def _one_line_error(result) -> str:
    assert result.code != 0, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert isinstance(result.exception, SystemExit)  # no traceback
    return result.output.strip()


def test_the_new_region_is_simulated_offering_only_its_interventions(world):
    persons = pd.read_parquet(world.data / "persons")
    episodes = pd.read_parquet(world.data / "episodes").merge(persons[["person_id", "region"]])
    assert (persons["region"] == REGION).sum() >= 30
    assert set(episodes.loc[episodes["region"] == REGION, "intervention"]) <= set(OFFERS)
    description = yaml.safe_load((world.model / "model.json").read_text())
    assert description["catalogue_fingerprint"] == load_catalogue(world.catalogue).fingerprint()
    assert description["catalogue_fingerprint"] != load_catalogue().fingerprint()


@pytest.mark.parametrize("repeat", [False, True], ids=["model's own", "--catalogue again"])
def test_recommend_and_plan_serve_the_new_region(world, tmp_path, repeat):
    again = ["--catalogue", world.catalogue] if repeat else []
    given = ["--model", world.model, "--data", world.data, *again]
    for args in (
        ["recommend", "--out", tmp_path / "rec.parquet"],
        ["recommend", "--next", "--out", tmp_path / "next.parquet"],
        ["plan", "--k", 2, "--out", tmp_path / "plans.parquet"],
    ):
        result = _adapt(*args, *given)
        assert result.code == 0, result.output
    persons = pd.read_parquet(world.data / "persons")
    ours = set(persons.loc[persons["region"] == REGION, "person_id"])
    offered = set(OFFERS)
    for name, column in (
        ("rec", "recommended"),
        ("next", "recommended"),
        ("plans", "intervention"),
    ):
        table = pd.read_parquet(tmp_path / f"{name}.parquet")
        mine = table[table["person_id"].isin(ours)]
        assert mine["person_id"].nunique() >= 30, name
        assert set(mine[column]) <= offered, name
        if name == "rec":  # estimates exactly for what the region offers
            p = mine[[c for c in table.columns if c.startswith("p_")]]
            assert {c.removeprefix("p_") for c in p.columns[p.notna().all()]} == offered
            assert p.drop(columns=[f"p_{c}" for c in OFFERS]).isna().all().all()


def test_a_catalogue_the_model_was_not_trained_with_is_refused_in_one_line(world, tmp_path):
    ours, builtin = load_catalogue(world.catalogue), load_catalogue(world.builtin)
    expected = (
        f"Error: --catalogue {world.builtin} (fingerprint {builtin.fingerprint()}) is not the "
        f"catalogue model {world.model} was trained with ({world.catalogue}, fingerprint "
        f"{ours.fingerprint()}); retrain with --catalogue, or leave --catalogue out to use the "
        "model's own"
    )
    given = ["--model", world.model, "--data", world.data, "--catalogue", world.builtin]
    for args in (
        ["recommend", "--out", tmp_path / "rec.parquet"],
        ["plan", "--out", tmp_path / "plans.parquet"],
        ["audit", "--out", tmp_path / "audit"],
    ):
        assert _one_line_error(_adapt(*args, *given)) == expected, args[0]
    served = _adapt("serve", "--model", world.model, "--catalogue", world.builtin)
    assert _one_line_error(served) == expected
    assert not [p for p in tmp_path.iterdir()]


def test_the_built_in_catalogue_refuses_the_new_region_naming_it(world, model_folder, tmp_path):
    trained = _adapt("train", "--data", world.data, "--out", tmp_path / "m", "--n-bags", 2)
    line = _one_line_error(trained)
    assert "persons.region:" in line and f"not in the catalogue (got '{REGION}')" in line
    # a model trained on the built-in catalogue reads data with it
    out = tmp_path / "rec.parquet"
    served = _adapt("recommend", "--model", model_folder, "--data", world.data, "--out", out)
    assert f"(got '{REGION}')" in _one_line_error(served)
    assert not out.exists() and not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Invalid value for '--catalogue': File '{path}' does not exist."),
        ("steps: [0\n  1: }\n", "Invalid value for '--catalogue': {path}: not valid YAML ("),
        ("steps:\n  0: {sv: a, en: b}\n", "{path}: section 'interventions' is missing or empty"),
        ("- just\n- a list\n", "{path}: expected a mapping at top level, got list"),
    ],
    ids=["missing", "not YAML", "no interventions", "a list"],
)
def test_a_bad_catalogue_file_ends_in_one_line(world, tmp_path, content, message):
    path = tmp_path / "cat.yaml"
    if content is not None:
        path.write_text(content)
    for args in (
        ["train", "--data", world.data, "--out", tmp_path / "m"],
        ["plan", "--model", world.model, "--data", world.data, "--out", tmp_path / "p.csv"],
    ):
        line = _one_line_error(_adapt(*args, "--catalogue", path))
        assert f"adapt {args[0]}: " in line and message.format(path=path) in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == (["cat.yaml"] if content else [])


# -- the experiment config's `catalogue` setting ------------------------------------------------
def _config(*overrides, hydra_node=False):
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose("config", overrides=list(overrides), return_hydra_config=hydra_node)


def test_a_bad_catalogue_setting_is_one_config_problem(tmp_path, monkeypatch):
    from experiments.config import config_problems
    from experiments.run import world_overrides

    monkeypatch.chdir(tmp_path)
    (tmp_path / "list.yaml").write_text("- a\n")
    for value, message in (
        ("nosuch.yaml", f"catalogue: no catalogue file {tmp_path / 'nosuch.yaml'}"),
        ("list.yaml", f"catalogue: {tmp_path / 'list.yaml'}: expected a mapping at top level"),
    ):
        cfg = _config("data=small", f"catalogue={value}")
        problems = config_problems(cfg, world_overrides(cfg.data))
        assert len(problems) == 1 and problems[0].startswith(message), problems


def test_the_catalogue_setting_simulates_reads_and_trains_for_the_new_region(
    world, tmp_path, monkeypatch
):
    """A folder run (data=folder) in-process, the catalogue given relative to the launch folder:
    its tables are read with it and the learner is trained for it."""
    import adapt.models
    import adapt.pipeline._learner
    import experiments.run as experiment
    from adapt.tracking import connect, local_store
    from experiments.config import config_problems

    monkeypatch.chdir(world.root)  # where `catalogue=regions.yaml` is found
    overrides = [
        "catalogue=regions.yaml",
        "data=folder",
        f"data.path={world.data}",
        "model.n_bags=2",
        "model.n_estimators=60",
        "evaluation.n_bootstrap=50",
        "evaluation.plots=false",
        "explain=off",
        "planning=off",
        "tracking.register=false",
    ]
    cfg = _config(*overrides)
    assert config_problems(cfg, experiment.world_overrides(cfg.data)) == []
    # simulated data over the setting's catalogue hold the new region
    simulated = experiment.load_data(_config("catalogue=regions.yaml", "data=small"), seed=1)
    assert REGION in set(simulated.persons["region"])
    assert simulated.fingerprint != experiment.load_data(_config("data=small"), seed=1).fingerprint

    learners = []

    def make_learner(*args, **kwargs):
        learners.append(made := make(*args, **kwargs))
        return made

    make = adapt.models.make_learner
    # the experiment makes its learner through adapt.pipeline (a name or auto)
    monkeypatch.setattr(adapt.pipeline._learner, "make_learner", make_learner)
    runtime = _config(*overrides, hydra_node=True)
    OmegaConf.update(runtime, "hydra.runtime.output_dir", str(tmp_path / "outputs"))
    OmegaConf.update(runtime, "hydra.runtime.cwd", str(world.root))
    uri, artifacts = local_store(tmp_path / "mlruns")
    previous = mlflow.get_tracking_uri()
    HydraConfig.instance().set_config(runtime)
    try:
        experiment_id = connect(uri, "adapt", artifacts)
        with mlflow.start_run(experiment_id=experiment_id) as active:
            metrics = experiment.run(cfg)
        tags = mlflow.get_run(active.info.run_id).data.tags
    finally:
        HydraConfig.instance().cfg = None
        mlflow.set_tracking_uri(previous)
    ours = load_catalogue(world.catalogue)
    (learner,) = learners
    assert learner.catalogue.fingerprint() == ours.fingerprint()
    assert REGION in learner.regions_
    assert tags["adapt.catalogue"] == str(world.catalogue)
    assert tags["adapt.catalogue_fingerprint"] == ours.fingerprint()
    assert metrics["audit_passed"] in (0.0, 1.0) and "regret_closure" in metrics

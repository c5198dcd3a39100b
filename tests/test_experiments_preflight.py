"""The experiment's command line: a mistyped value or unknown option ends in one line."""

import subprocess
import sys
from pathlib import Path

import pytest

import experiments.run  # noqa: F401  (registers the config schema)
from experiments._preflight import override_problem

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["data.knobs.effect_scale=two"], "data.knobs.effect_scale=two: Value 'two' of type 'str'"),
        (["seed=abc"], "seed=abc: Value 'abc' of type 'str' could not be converted to Integer"),
        (
            ["model=nosuch"],
            "model=nosuch: no such model; expected one of auto, blend, dr, policy_tree, s, "
            "sequence, t, x",
        ),
        (["+experiment=nosuch"], "+experiment=nosuch: no such experiment; expected one of"),
        (["nosuchkey=3"], "Could not override 'nosuchkey'"),
        (["seed=1,2"], "seed=1,2: several values; add -m to sweep over them"),
        (["-m", "model=s,t,nosuch"], "model=nosuch: no such model"),
        (["-m", "data.knobs.effect_scale=1,two"], "data.knobs.effect_scale=two: Value 'two'"),
        (["data.=3"], "cannot read the overrides 'data.=3'"),
    ],
)
def test_a_mistake_on_the_command_line_is_named_in_one_line(argv, problem):
    found = override_problem(argv, CONFIGS, "config")
    assert found is not None and found.startswith(problem) and "\n" not in found


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["data=small", "seed=3", "model=t"],
        ["-m", "model=s,t", "seed=range(0,3)"],
        ["+experiment=compare_learners"],
        ["hydra.job.chdir=True"],
        ["--cfg", "job"],  # Hydra's own flags are left to Hydra
    ],
)
def test_a_valid_command_line_passes(argv):
    assert override_problem(argv, CONFIGS, "config") is None


def test_the_experiment_command_stops_in_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "experiments.run", "data.knobs.effect_scale=two"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Error: data.knobs.effect_scale=two: Value 'two'")
    assert done.stderr.count("\n") == 1 and not (tmp_path / "outputs").exists()

"""The core install: simulate, train, recommend, plan and audit without the optional extras
(MLflow, Hydra, SHAP, FastAPI and uvicorn blocked from import), and a command that needs one
saying in one line which extra to install."""

import json
import subprocess
import sys

import pytest

OPTIONAL = ("mlflow", "hydra", "shap", "fastapi", "uvicorn")
# Blocks the optional packages (an import of one raises ImportError), runs the code given, and
# reports which of them got imported anyway.
PRELUDE = f"""
import sys
for name in {OPTIONAL!r}:
    sys.modules[name] = None
"""


def _run(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + code], cwd=cwd, capture_output=True, text=True
    )


def _cli(args: list[str], cwd) -> subprocess.CompletedProcess:
    return _run(f"from adapt.cli import main\nmain({args!r})", cwd)


@pytest.mark.timeout(240)
def test_the_core_works_without_the_extras(tmp_path):
    steps = [
        ["generate", "--n-persons", "400", "--seed", "3", "--out", "world"],
        ["train", "--data", "world", "--learner", "s", "--n-bags", "2", "--out", "model"],
        ["recommend", "--model", "model", "--data", "world", "--out", "rec.parquet"],
        ["plan", "--model", "model", "--data", "world", "--k", "2", "--out", "plans.parquet"],
        ["audit", "--data", "world", "--model", "model", "--out", "audit"],
    ]
    for args in steps:
        done = _cli(args, tmp_path)
        assert done.returncode in (0, 1, 3) if args[0] == "audit" else done.returncode == 0, (
            args,
            done.stderr[-2000:],
        )
    assert (tmp_path / "audit" / "report.html").exists()
    # the model folder is JSON and LightGBM's text: nothing a pickle could hide in
    saved = [p for p in (tmp_path / "model").rglob("*") if p.is_file()]
    assert {p.suffix for p in saved} == {".json", ".txt"}, saved
    assert not any(p.read_bytes().startswith(b"\x80") for p in saved)
    person = {
        "gender": "woman",
        "age": 34,
        "region": "varna",
        "years_on_support": 2.5,
        "income_source": "social_assistance",
        "referral_source": "municipality",
        "education": "compulsory",
        "born_abroad": True,
        "swedish_level": "basic",
        "mental_ill_health": True,
        "violence_exposure": False,
    }
    code = f"""
import adapt, json
answer = adapt.recommend({person!r}, history=[], k=2, lang="en", model="model")
print(json.dumps({{"options": len(answer.options), "reasons": answer.options[0].reasons}}))
"""
    done = _run(code, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["options"] >= 1 and answer["reasons"]


@pytest.mark.parametrize(
    ("args", "extra"),
    [
        (["serve", "--model", "model"], "serve"),
        (
            ["recommend", "--model", "models:/adapt-recommender@champion", "--data", "world"]
            + ["--out", "r.csv"],
            "track",
        ),
    ],
)
def test_a_command_whose_extra_is_missing_names_it_in_one_line(tmp_path, args, extra):
    (tmp_path / "world").mkdir()
    done = _cli(args, tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"pip install 'adapt[{extra}]'" in lines[0]


def test_adapt_experiment_without_hydra_names_the_extra(tmp_path):
    done = _run("from experiments import cli\ncli()", tmp_path)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'adapt[experiments]'" in lines[0], done.stderr

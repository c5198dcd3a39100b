"""The `adapt` command line: generate, validate, calibrate, and --help everywhere."""

import pandas as pd
import pytest
from click.testing import CliRunner

from adapt.cli import main


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "world"
    result = CliRunner().invoke(
        main,
        ["generate", "--n-persons", "600", "--seed", "3", "--out", str(out), "--chunk-size", "250"],
    )
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.mark.parametrize(
    "command", [[], ["generate"], ["validate"], ["calibrate"], ["train"], ["recommend"], ["plan"]]
)
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_generate_writes_three_parquet_datasets_and_a_summary(generated):
    out, output = generated
    assert "wrote 600 persons" in output
    for table in ("persons", "episodes", "truth"):
        assert len(pd.read_parquet(out / table)) > 0
    assert (out / "generation.json").exists()


def test_validate_accepts_generated_data(generated):
    out, _ = generated
    result = CliRunner().invoke(main, ["validate", str(out)])
    assert result.exit_code == 0
    assert "meets the data contract" in result.output


def test_validate_names_each_violation_and_fails(generated, tmp_path):
    out, _ = generated
    persons = pd.read_parquet(out / "persons")
    episodes = pd.read_parquet(out / "episodes")
    persons.loc[[2, 5], "age"] = 99
    episodes.loc[[1, 4, 7], "step_after"] = 9
    episodes.loc[3, "intervention"] = "yoga"
    persons.to_csv(tmp_path / "persons.csv", index=False)
    episodes.to_parquet(tmp_path / "episodes.parquet")
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "persons.age: 2 rows outside 16..67 (rows 2, 5)" in result.output
    assert "episodes.step_after: 3 rows outside 0..5 (rows 1, 4, 7)" in result.output
    assert "episodes.intervention: 1 row not in the catalogue (got 'yoga') (row 3)" in result.output


def test_validate_says_what_is_missing(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code != 0
    assert "persons" in result.output


def test_generate_refuses_an_existing_folder_and_a_bad_override(generated):
    out, _ = generated
    again = CliRunner().invoke(main, ["generate", "--n-persons", "10", "--out", str(out)])
    assert again.exit_code != 0 and "overwrite" in again.output
    bad = CliRunner().invoke(
        main,
        ["generate", "--n-persons", "10", "--out", str(out) + "2", "--set", "knobs.no_such_knob=1"],
    )
    assert bad.exit_code != 0 and "knobs.no_such_knob" in bad.output


def test_calibrate_prints_every_target(generated):
    out, _ = generated
    result = CliRunner().invoke(main, ["calibrate", str(out)])
    assert "targets met" in result.output
    assert "Mean time enrolled" in result.output


def test_train_then_recommend_writes_one_row_per_decision_point(generated, tmp_path):
    out, _ = generated
    model = tmp_path / "model"
    trained = CliRunner().invoke(
        main, ["train", "--data", str(out), "--learner", "s", "--out", str(model), "--n-bags", "2"]
    )
    assert trained.exit_code == 0, trained.output
    target = tmp_path / "rec.parquet"
    result = CliRunner().invoke(
        main, ["recommend", "--model", str(model), "--data", str(out), "--out", str(target)]
    )
    assert result.exit_code == 0, result.output
    rec = pd.read_parquet(target)
    episodes = pd.read_parquet(out / "episodes")
    assert len(rec) == len(episodes)
    assert list(rec.columns[:3]) == ["person_id", "episode_no", "recommended"]
    persons = pd.read_parquet(out / "persons").set_index("person_id")
    from adapt.catalogue import load_catalogue

    offered = load_catalogue().availability()
    regions = persons.loc[rec["person_id"], "region"].to_numpy()
    assert all(offered.loc[r, c] for r, c in zip(regions, rec["recommended"], strict=True))
    p_cols = [c for c in rec.columns if c.startswith("p_")]
    assert (rec[p_cols].notna().to_numpy() == offered.loc[regions].to_numpy()).all()

    bounded = tmp_path / "bounded.parquet"
    result = CliRunner().invoke(
        main,
        ["recommend", "--model", str(model), "--data", str(out), "--out", str(bounded)]
        + ["--interval", "0.9"],
    )
    assert result.exit_code == 0, result.output
    rec = pd.read_parquet(bounded)
    code = "case_management"
    assert list(rec.columns[3:6]) == [f"p_{code}", f"lo_{code}", f"hi_{code}"]
    for code in offered.columns:
        p, lo, hi = (rec[f"{k}_{code}"] for k in ("p", "lo", "hi"))
        offered_here = p.notna()
        assert ((lo <= p) & (p <= hi) & (hi > lo))[offered_here].all()
        assert (lo.notna() == offered_here).all() and (hi.notna() == offered_here).all()
    refused = CliRunner().invoke(
        main,
        ["recommend", "--model", str(model), "--data", str(out), "--out", str(bounded)]
        + ["--interval", "1.5"],
    )
    assert refused.exit_code != 0 and "--interval" in refused.output


def test_train_uses_extra_covariates_from_csv(generated, tmp_path):
    out, _ = generated
    persons = pd.read_parquet(out / "persons")
    persons["x_distance_km"] = range(len(persons))
    persons.to_csv(tmp_path / "persons.csv", index=False)
    pd.read_parquet(out / "episodes").to_csv(tmp_path / "episodes.csv", index=False)
    result = CliRunner().invoke(
        main, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "m"), "--n-bags", "2"]
    )
    assert result.exit_code == 0, result.output
    import json

    card = json.loads((tmp_path / "m" / "model.json").read_text())
    assert "x_distance_km" in card["features"]


def test_train_refuses_data_that_break_the_contract(generated, tmp_path):
    out, _ = generated
    episodes = pd.read_parquet(out / "episodes")
    episodes.loc[0, "step_after"] = 7
    episodes.to_parquet(tmp_path / "episodes.parquet")
    pd.read_parquet(out / "persons").to_parquet(tmp_path / "persons.parquet")
    result = CliRunner().invoke(
        main, ["train", "--data", str(tmp_path), "--out", str(tmp_path / "m")]
    )
    assert result.exit_code != 0
    assert "episodes.step_after: 1 row outside 0..5 (row 0)" in result.output


def test_recommend_names_a_region_the_model_never_saw(generated, tmp_path):
    out, _ = generated
    persons = pd.read_parquet(out / "persons")
    episodes = pd.read_parquet(out / "episodes")
    keep = persons["region"] != "varna"
    kept_ids = persons.loc[keep, "person_id"]
    train_dir, model = tmp_path / "train", tmp_path / "model"
    train_dir.mkdir()
    persons[keep].to_parquet(train_dir / "persons.parquet")
    episodes[episodes["person_id"].isin(kept_ids)].to_parquet(train_dir / "episodes.parquet")
    assert (
        CliRunner()
        .invoke(main, ["train", "--data", str(train_dir), "--out", str(model), "--n-bags", "2"])
        .exit_code
        == 0
    )
    result = CliRunner().invoke(
        main,
        [
            "recommend",
            "--model",
            str(model),
            "--data",
            str(out),
            "--out",
            str(tmp_path / "r.parquet"),
        ],
    )
    assert result.exit_code != 0
    assert "regions the fitted model never saw: ['varna']" in result.output


def test_calibrate_strict_fails_when_a_target_is_missed(generated):
    out, _ = generated
    result = CliRunner().invoke(main, ["calibrate", str(out), "--strict"])
    assert ("FAIL" in result.output) == (result.exit_code == 1)


def test_train_the_sequence_learner_then_plan(generated, tmp_path):
    out, _ = generated
    model = tmp_path / "sequence"
    trained = CliRunner().invoke(
        main,
        ["train", "--data", str(out), "--learner", "sequence", "--out", str(model)]
        + ["--n-bags", "2"],
    )
    assert trained.exit_code == 0, trained.output
    assert (model / "transitions.json").exists()
    target = tmp_path / "plans.parquet"
    result = CliRunner().invoke(
        main,
        ["plan", "--model", str(model), "--data", str(out), "--k", "2", "--out", str(target)],
    )
    assert result.exit_code == 0, result.output
    plans = pd.read_parquet(target)
    persons = pd.read_parquet(out / "persons")
    assert list(plans.columns) == [
        "person_id",
        "position",
        "intervention",
        "p_progress",
        "expected_step",
    ]
    assert len(plans) == 2 * len(persons)
    assert set(plans["position"]) == {1, 2}
    reach = CliRunner().invoke(
        main,
        ["plan", "--model", str(model), "--data", str(out), "--k", "1", "--out", str(target)]
        + ["--objective", "reach", "--target-step", "4"],
    )
    assert reach.exit_code == 0, reach.output
    capped = CliRunner().invoke(
        main,
        ["plan", "--model", str(model), "--data", str(out), "--out", str(target)]
        + ["--max-history", "1"],
    )
    assert capped.exit_code == 1 and "at most 1 (max_history)" in capped.output


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--k", "6"], "'--k': 6 is not in the range 1<=x<=5"),
        (["--k", "0"], "'--k': 0 is not in the range 1<=x<=5"),
        (["--objective", "jobs"], "'--objective'"),
        (["--target-step", "7"], "'--target-step'"),
    ],
)
def test_plan_names_a_bad_setting(generated, tmp_path, flags, message):
    out, _ = generated
    result = CliRunner().invoke(
        main,
        ["plan", "--model", str(tmp_path), "--data", str(out), "--out", str(tmp_path / "p.pq")]
        + flags,
    )
    assert result.exit_code == 2 and message in result.output


def test_plan_without_a_trained_model_says_so(generated, tmp_path):
    out, _ = generated
    result = CliRunner().invoke(
        main, ["plan", "--model", str(tmp_path), "--data", str(out), "--out", str(tmp_path / "p")]
    )
    assert result.exit_code == 1 and "adapt train" in result.output

"""The `adapt` command line: generate, validate, calibrate, and --help everywhere."""

import json

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
    summary = result.output.splitlines()[-1]
    assert (not summary.startswith("48 of 48")) == (result.exit_code == 1), result.output
    lenient = CliRunner().invoke(main, ["calibrate", str(out)])
    assert lenient.exit_code == 0 and lenient.output == result.output


def test_calibrate_over_seeds_reports_mean_and_spread():
    result = CliRunner().invoke(
        main, ["calibrate", "--seeds", "2", "--n-persons", "500", "--first-seed", "4"]
    )
    assert result.exit_code == 0, result.output
    header, *rows, summary = result.output.splitlines()
    assert header.split()[-9:] == [
        "target",
        "tol",
        "mean",
        "sd",
        "min",
        "max",
        "off",
        "met",
        "result",
    ]
    assert len(rows) == 48 and summary.endswith("within ±0.50 required)")
    assert "hold at all 2 seeds" in summary


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "give a FOLDER to compare, or --seeds N"),
        (["--seeds", "1"], "--seeds"),
        (["--seeds", "2", "--set", "knobs.positivity=1.5"], "knobs.positivity"),
    ],
)
def test_calibrate_mistakes_end_in_one_line(args, message):
    result = CliRunner().invoke(main, ["calibrate", *args])
    assert result.exit_code == 2 or result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_train_auto_prints_every_candidate_and_records_the_choice(generated, tmp_path):
    out, _ = generated
    model = tmp_path / "auto"
    trained = CliRunner().invoke(
        main,
        ["train", "--data", str(out), "--learner", "auto", "--out", str(model), "--n-bags", "2"],
    )
    assert trained.exit_code == 0, trained.output
    card = json.loads((model / "model.json").read_text())
    selection = card["selection"]
    names = [c["candidate"] for c in selection["candidates"]]
    assert names[0] == "blend/regularised" and selection["chosen"] in names
    for name in names:  # printed with its status
        assert name in trained.output
    assert f"trained {selection['chosen']}, chosen by auto" in trained.output
    recommended = CliRunner().invoke(
        main,
        ["recommend", "--model", str(model), "--data", str(out)]
        + ["--out", str(tmp_path / "r.parquet")],
    )
    assert recommended.exit_code == 0, recommended.output


def test_train_a_policy_tree_prints_and_saves_its_rules(generated, tmp_path):
    out, _ = generated
    model = tmp_path / "tree"
    trained = CliRunner().invoke(
        main,
        ["train", "--data", str(out), "--learner", "policy_tree", "--out", str(model)]
        + ["--n-bags", "2"],
    )
    assert trained.exit_code == 0, trained.output
    rules = json.loads((model / "model.json").read_text())["rules"]
    assert 1 <= len(rules) <= 4 and all(rule in trained.output for rule in rules)


def test_budget_seconds_only_with_auto(generated, tmp_path):
    out, _ = generated
    result = CliRunner().invoke(
        main,
        ["train", "--data", str(out), "--out", str(tmp_path / "m"), "--budget-seconds", "5"],
    )
    assert result.exit_code == 2 and "only --learner auto searches" in result.output


@pytest.mark.parametrize("learner", ["sequence", "blend"])
def test_train_a_learner_of_the_ordered_history_then_plan(generated, tmp_path, learner):
    out, _ = generated
    model = tmp_path / learner
    trained = CliRunner().invoke(
        main,
        ["train", "--data", str(out), "--learner", learner, "--out", str(model)]
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
        + ["--objective", "reach", "--target-step", "4", "--overwrite"],
    )
    assert reach.exit_code == 0, reach.output
    capped = CliRunner().invoke(
        main,
        ["plan", "--model", str(model), "--data", str(out), "--out", str(target)]
        + ["--max-history", "1", "--overwrite"],
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
        main,
        [
            "plan",
            "--model",
            str(tmp_path),
            "--data",
            str(out),
            "--out",
            str(tmp_path / "p.parquet"),
        ],
    )
    assert result.exit_code == 2 and "adapt train" in result.output  # a bad --model


# -- adapt recommend --next ------------------------------------------------------------------------
EPISODE_FIELDS = ["intervention", "start_day", "end_day", "hours", "step_before", "step_after"]


@pytest.fixture(scope="module")
def served_folder(served_data, tmp_path_factory):
    """The shared fixtures' population as a data folder (28 of its persons have no episode)."""
    folder = tmp_path_factory.mktemp("served_data")
    served_data["persons"].to_parquet(folder / "persons.parquet")
    served_data["episodes"].to_parquet(folder / "episodes.parquet")
    return folder


def _next(model, data, out, *flags):
    return CliRunner().invoke(
        main,
        ["recommend", "--next", "--model", str(model), "--data", str(data)]
        + ["--out", str(out), *flags],
    )


def test_recommend_next_writes_one_row_per_person_as_recommend_answers(
    served_folder, served_data, model_folder, recommender, tmp_path
):
    persons, episodes = served_data["persons"], served_data["episodes"]
    result = _next(model_folder, served_folder, tmp_path / "next.parquet")
    assert result.exit_code == 0, result.output
    assert f"wrote {len(persons):,} next decisions" in result.output
    assert (tmp_path / "next.parquet").read_bytes()[:4] == b"PAR1"
    table = pd.read_parquet(tmp_path / "next.parquet")
    assert sorted(table["person_id"]) == sorted(persons["person_id"])
    # The decision before each person's next episode: the first for persons with none yet.
    recorded = episodes.groupby("person_id").size()
    expected = table["person_id"].map(recorded).fillna(0).astype(int) + 1
    assert (table["episode_no"] == expected).all()
    assert (~table["person_id"].isin(episodes["person_id"])).any()
    code = recommender.model.interventions_[0]
    assert list(table.columns[:5]) == [
        "person_id",
        "episode_no",
        "current_step",
        "recommended",
        "usual_path",
    ]
    for prefix in ("p_", "uplift_", "uplift_lower_", "uplift_upper_"):
        assert f"{prefix}{code}" in table

    as_csv = _next(model_folder, served_folder, tmp_path / "next.csv")
    assert as_csv.exit_code == 0, as_csv.output
    read_back = pd.read_csv(tmp_path / "next.csv")
    assert list(read_back.columns) == list(table.columns) and len(read_back) == len(table)

    # No skew between the batch and recommend(): the first row, and the first with a history.
    with_history = table.index[table["person_id"].isin(episodes["person_id"])][0]
    for i in sorted({0, with_history}):
        row = table.iloc[i]
        person = persons.set_index("person_id").loc[row["person_id"]]
        history = episodes[episodes["person_id"] == row["person_id"]].sort_values("episode_no")
        answer = recommender.recommend(
            person.drop(["exit_day", "exit_reason"]), history[EPISODE_FIELDS], k=1
        )
        best = answer.options[0]
        assert row["recommended"] == best.intervention
        assert row["usual_path"] == answer.usual_path.code
        assert row["current_step"] == answer.current_step.level
        assert row[f"p_{best.intervention}"] == pytest.approx(best.probability)
        assert row[f"uplift_{best.intervention}"] == pytest.approx(best.uplift)
        assert row[f"uplift_lower_{best.intervention}"] == pytest.approx(best.uplift_interval.lower)
        assert row[f"uplift_upper_{best.intervention}"] == pytest.approx(best.uplift_interval.upper)


def test_recommend_refuses_an_unknown_out_extension_in_one_line(
    served_folder, model_folder, tmp_path
):
    for flags in (["--next"], []):
        result = CliRunner().invoke(
            main,
            ["recommend", *flags, "--model", str(model_folder), "--data", str(served_folder)]
            + ["--out", str(tmp_path / "next.xlsx")],
        )
        assert result.exit_code == 1
        assert result.output.strip() == (
            "Error: --out must end in .parquet or .csv, got 'next.xlsx'"
        )
        assert not (tmp_path / "next.xlsx").exists()


def test_recommend_next_names_unservable_persons_or_rejects_them(
    served_folder, served_data, tmp_path
):
    persons, episodes = served_data["persons"], served_data["episodes"]
    unseen = persons["region"] == "roslagen"
    from adapt.features import decision_points
    from adapt.models import SLearner, save_model
    from adapt.planning import StepTransitions

    kept = episodes[episodes["person_id"].isin(persons.loc[~unseen, "person_id"])]
    points = decision_points(persons[~unseen], kept)
    model = SLearner(n_estimators=20, n_bags=2, random_state=0).fit(
        points.features, points.treatment, points.outcome, points.keys["person_id"]
    )
    folder = save_model(model, tmp_path / "model")
    StepTransitions.fit(kept).save(folder)

    refused = _next(folder, served_folder, tmp_path / "next.csv")
    assert refused.exit_code == 1
    first = persons.loc[unseen, "person_id"].iloc[0]
    assert f"{unseen.sum()} person(s) cannot be served: {first}: region 'roslagen'" in (
        refused.output
    )
    assert not (tmp_path / "next.csv").exists()

    skipped = _next(folder, served_folder, tmp_path / "next.csv", "--skip-invalid")
    assert skipped.exit_code == 0, skipped.output
    assert f"refused {unseen.sum()} person(s)" in skipped.output
    table = pd.read_csv(tmp_path / "next.csv")
    rejects = pd.read_csv(tmp_path / "next.rejects.csv")
    assert sorted(table["person_id"]) == sorted(persons.loc[~unseen, "person_id"])
    assert sorted(rejects["person_id"]) == sorted(persons.loc[unseen, "person_id"])
    assert rejects["reason"].str.contains("region 'roslagen' was never seen").all()


def test_outputs_honour_their_extension_and_are_never_overwritten_silently(generated, tmp_path):
    out, _ = generated
    runner = CliRunner()
    model = tmp_path / "model"
    train = ["train", "--data", str(out), "--out", str(model), "--n-bags", "2"]
    assert runner.invoke(main, train).exit_code == 0
    before = (model / "model.json").read_text()
    again = runner.invoke(main, train)
    assert again.exit_code != 0
    assert again.output.strip() == f"Error: {model} exists; add --overwrite to replace it"
    assert (model / "model.json").read_text() == before
    assert runner.invoke(main, [*train, "--overwrite", "--seed", "3"]).exit_code == 0
    assert '"seed": 3' in (model / "model.json").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left

    rec = tmp_path / "rec.csv"
    recommend = ["recommend", "--model", str(model), "--data", str(out), "--out", str(rec)]
    assert runner.invoke(main, recommend).exit_code == 0
    assert pd.read_csv(rec).columns[:3].tolist() == ["person_id", "episode_no", "recommended"]
    assert runner.invoke(main, recommend).exit_code != 0
    assert runner.invoke(main, [*recommend, "--overwrite"]).exit_code == 0

    plans = tmp_path / "plans.csv"
    plan = ["plan", "--model", str(model), "--data", str(out), "--out", str(plans), "--k", "2"]
    assert runner.invoke(main, plan).exit_code == 0, "plan"
    assert len(pd.read_csv(plans)) > 0
    for args in (
        ["plan", "--model", str(model), "--data", str(out), "--out", str(tmp_path / "p.txt")],
        [*recommend[:-1], str(tmp_path / "rec.json")],
        [*recommend, "--overwrite", "--min-uplift", "1.5"],
    ):
        refused = runner.invoke(main, args)
        assert refused.exit_code != 0 and refused.output.strip().count("\n") == 0, args


# -- one line per mistake ([H] 3) and extra covariates at prediction ([H] 6) --------------------
def _broken_copy(generated, folder):
    """The generated data with one episode's step outside 0..5 and two persons aged 99."""
    out, _ = generated
    persons, episodes = pd.read_parquet(out / "persons"), pd.read_parquet(out / "episodes")
    persons.loc[[1, 2], "age"] = 99
    episodes.loc[0, "step_after"] = 7
    folder.mkdir()
    persons.to_parquet(folder / "persons.parquet")
    episodes.to_parquet(folder / "episodes.parquet")
    return folder


@pytest.mark.parametrize(
    ("args", "exit_code", "line"),
    [
        (
            ["generate", "--n-persons", "10", "--out", "{tmp}/w", "--seed", "-1"],
            2,
            " generate: Invalid value for '--seed': -1 is not in the range x>=0.",
        ),
        (
            ["generate", "--n-persons", "10", "--out", "{tmp}/w"]
            + ["--set", "knobs.effect_scale=two"],
            1,
            "Error: knobs.effect_scale = 'two': expected a number >= 0",
        ),
        (
            ["generate", "--n-persons", "10", "--out", "{tmp}/w", "--set", "knobs.positivity"],
            2,
            " generate: Invalid value for --set: expected KEY=VALUE, got 'knobs.positivity'",
        ),
        (
            ["calibrate", "{data}", "--targets", "nosuch"],
            1,
            "Error: --targets: no target set 'nosuch': expected one of mia (in ",
        ),
        (
            ["calibrate", "{broken}"],
            1,
            "Error: {broken} breaks the data contract: persons.age: 2 rows outside 16..67 "
            "(rows 1, 2) in persons.parquet",
        ),
    ],
)
def test_each_mistake_ends_in_one_line_without_a_traceback(
    generated, tmp_path, args, exit_code, line
):
    out, _ = generated
    broken = tmp_path / "broken"
    if "{broken}" in args:
        _broken_copy(generated, broken)
    fill = {"{tmp}": str(tmp_path), "{data}": str(out), "{broken}": str(broken)}

    def filled(text):
        for key, value in fill.items():
            text = text.replace(key, value)
        return text

    result = CliRunner().invoke(main, [filled(a) for a in args])
    assert result.exit_code == exit_code, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("Error: ")
    assert filled(line) in result.output  # (usage errors name the command: adapt generate)
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert not (tmp_path / "w").exists()
    if "{broken}" in args:  # two violations: the first named, and how to see both
        assert result.output.rstrip().endswith(
            f"(and 1 more: `adapt validate {broken}` lists them)"
        )


def test_recommend_and_plan_ignore_covariates_the_model_was_not_trained_on(
    served_data, model_folder, tmp_path
):
    data = tmp_path / "data"
    data.mkdir()
    persons = served_data["persons"].assign(x_notes="called twice", x_distance_km=3.5)
    persons.to_csv(data / "persons.csv", index=False)
    served_data["episodes"].to_csv(data / "episodes.csv", index=False)
    line = "Warning: ignoring 2 column(s) the model was not trained on: x_notes, x_distance_km"
    for args in (
        ["recommend", "--out", str(tmp_path / "rec.csv")],
        ["recommend", "--next", "--out", str(tmp_path / "next.csv")],
        ["plan", "--k", "2", "--out", str(tmp_path / "plans.csv")],
    ):
        result = CliRunner().invoke(
            main, [*args, "--model", str(model_folder), "--data", str(data)]
        )
        assert result.exit_code == 0, result.output
        assert result.output.splitlines().count(line) == 1, result.output
        assert "UserWarning" not in result.output and "warnings.warn" not in result.output
    plain = tmp_path / "plain"
    plain.mkdir()
    served_data["persons"].to_csv(plain / "persons.csv", index=False)
    served_data["episodes"].to_csv(plain / "episodes.csv", index=False)
    again = CliRunner().invoke(
        main,
        ["recommend", "--model", str(model_folder), "--data", str(plain)]
        + ["--out", str(tmp_path / "rec_plain.csv")],
    )
    assert again.exit_code == 0 and "Warning" not in again.output
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "rec.csv"), pd.read_csv(tmp_path / "rec_plain.csv")
    )

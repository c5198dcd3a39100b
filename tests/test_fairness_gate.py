"""The gender audit that can gate a model: planted bias fails, no bias passes, bad input exits 2."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from adapt.catalogue import load_catalogue
from adapt.cli import main
from adapt.fairness import audit_choices, load_thresholds, situation_strata
from adapt.features import decision_points
from adapt.simulation import simulate

JOB_ORIENTED = ["supported_employment", "ips", "work_training_employer"]


@pytest.fixture(scope="module")
def world():
    data = simulate(1500, seed=8)
    points = decision_points(data["persons"], data["episodes"])
    return data, points


def _by_situation(points):
    """Choices that depend on the situation only, never on gender: a rotation, keyed by the
    stratum, over the interventions every region offers."""
    catalogue = load_catalogue()
    everywhere = set.intersection(*(set(catalogue.offered(r)) for r in catalogue.region_codes))
    codes = np.array(sorted(everywhere))
    return codes[situation_strata(points.features) % len(codes)]


def _withholding_job_options_from_women(points):
    chosen = points.treatment.astype(object).to_numpy().copy()
    women = points.features["gender"].astype(str).to_numpy() == "woman"
    chosen[women & np.isin(chosen, JOB_ORIENTED)] = "activity_centre"  # offered everywhere
    return chosen


def test_choices_that_ignore_gender_raise_no_alarm(world):
    data, points = world
    choices = points.keys.assign(recommended=_by_situation(points))
    result = audit_choices(data["persons"], data["episodes"], choices)
    recommender = [c for c in result["checks"] if c["subject"] == "recommender"]
    assert recommender and all(c["passed"] for c in recommender)
    assert result["passed"]
    # in the same situation women and men get the same: every standardised ratio is 1
    for row in result["figures"]["recommender"]:
        if row["similar_ratio"] is not None:
            assert row["similar_ratio"] == pytest.approx(1.0)


def test_withholding_job_oriented_options_from_women_fails(world):
    data, points = world
    choices = points.keys.assign(recommended=_withholding_job_options_from_women(points))
    result = audit_choices(data["persons"], data["episodes"], choices)
    failed = {c["name"] for c in result["checks"] if not c["passed"]}
    assert not result["passed"]
    assert {f"similar_rate_ratio[{c}]" for c in JOB_ORIENTED} & failed
    check = next(c for c in result["checks"] if c["name"] == "similar_rate_ratio[ips]")
    assert {"subject", "name", "value", "threshold", "passed"} <= set(check)


def test_cli_exit_codes_and_files(world, tmp_path):
    data, points = world
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("persons", "episodes"):
        data[name].to_parquet(folder / f"{name}.parquet", index=False)
    runner = CliRunner()
    fair = tmp_path / "fair.csv"
    points.keys.assign(recommended=_by_situation(points)).to_csv(fair, index=False)
    biased = tmp_path / "biased.parquet"
    points.keys.assign(recommended=_withholding_job_options_from_women(points)).to_parquet(biased)

    ok = runner.invoke(
        main,
        [
            "audit",
            "--data",
            str(folder),
            "--recommendations",
            str(fair),
            "--out",
            str(tmp_path / "a"),
        ],
    )
    assert ok.exit_code == 0, ok.output
    written = json.loads((tmp_path / "a" / "audit.json").read_text())
    assert written["passed"] is True
    assert "<table" in (tmp_path / "a" / "report.html").read_text()

    bad = runner.invoke(
        main,
        [
            "audit",
            "--data",
            str(folder),
            "--recommendations",
            str(biased),
            "--out",
            str(tmp_path / "b"),
        ],
    )
    assert bad.exit_code == 1, bad.output
    assert "audit failed" in bad.output

    for args in (
        ["--recommendations", str(tmp_path / "missing.csv")],
        ["--recommendations", str(fair), "--thresholds", str(_yaml(tmp_path, "colour: 2"))],
        ["--recommendations", str(fair), "--model", "x"],
        [],
    ):
        refused = runner.invoke(
            main, ["audit", "--data", str(folder), "--out", str(tmp_path / "c"), *args]
        )
        assert refused.exit_code == 2, (args, refused.output)
        assert refused.output.strip().count("\n") == 0  # one line


def test_recommendations_must_cover_every_decision_point(world):
    data, points = world
    partial = points.keys.assign(recommended=points.treatment.astype(object)).iloc[1:]
    with pytest.raises(ValueError, match="have none"):
        audit_choices(data["persons"], data["episodes"], partial)


def test_thresholds_are_checked(tmp_path):
    assert load_thresholds()["similar_rate_ratio"] == 0.8
    with pytest.raises(ValueError, match="similar_rate_ratio"):
        load_thresholds(_yaml(tmp_path, "similar_rate_ratio: 1.5"))
    with pytest.raises(ValueError, match="unknown thresholds"):
        load_thresholds(_yaml(tmp_path, "colour: 2"))


def _yaml(folder, text):
    path = folder / "thresholds.yaml"
    path.write_text(text)
    return path


def test_the_simulators_planted_assignment_bias_is_flagged_in_behaviour():
    from adapt.simulation import World

    data = simulate(6000, seed=4, world=World.from_preset("gender_bias"))
    points = decision_points(data["persons"], data["episodes"])
    fair = points.keys.assign(recommended=_by_situation(points))
    result = audit_choices(data["persons"], data["episodes"], fair)
    flagged = {
        c["name"] for c in result["checks"] if c["subject"] == "behaviour" and not c["passed"]
    }
    assert "similar_rate_ratio[supported_employment]" in flagged
    assert result["passed"]  # the audited recommender does not inherit it

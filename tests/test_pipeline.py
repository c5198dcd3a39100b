"""The experiment's stages: data with a fingerprint, a split by person, the evaluation."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapt.contract import ContractError
from adapt.evaluation._plots import plot_plan_values
from adapt.features import decision_points
from adapt.models import make_learner
from adapt.pipeline import (
    evaluate_plans,
    evaluate_recommender,
    folder_data,
    planning_skip_reason,
    simulated_data,
    split_persons,
)
from adapt.simulation import generate


@pytest.fixture(scope="module")
def small():
    return simulated_data(400, seed=3)


@pytest.fixture(scope="module")
def fitted(small):
    points = decision_points(small.persons, small.episodes)
    is_valid = split_persons(points.keys["person_id"], 0.3, seed=0)
    model = make_learner("s", n_estimators=30, n_bags=2, random_state=0)
    train = points.take(~is_valid)
    model.fit(train.features, train.treatment, train.outcome, groups=train.keys["person_id"])
    return model, points.take(is_valid)


def test_simulated_fingerprint_follows_the_inputs(small):
    again = simulated_data(400, seed=3)
    assert again.fingerprint == small.fingerprint
    assert simulated_data(400, seed=4).fingerprint != small.fingerprint
    assert (
        simulated_data(400, seed=3, overrides={"knobs.effect_scale": 2.0}).fingerprint
        != small.fingerprint
    )
    assert small.simulated and small.truth is not None


def test_unknown_world_parameter_is_refused():
    with pytest.raises(KeyError, match="knobs.effect_scal"):
        simulated_data(50, seed=0, overrides={"knobs.effect_scal": 2.0})


def test_folder_data_reads_validates_and_fingerprints(tmp_path):
    generate(tmp_path / "d", 120, seed=1)
    first, second = folder_data(tmp_path / "d"), folder_data(tmp_path / "d")
    assert first.fingerprint == second.fingerprint
    assert len(first.persons) == 120 and first.truth is not None

    broken = tmp_path / "broken"
    broken.mkdir()
    persons = first.persons.copy()
    persons.loc[persons.index[:3], "age"] = 250
    persons.to_csv(broken / "persons.csv", index=False)
    first.episodes.to_csv(broken / "episodes.csv", index=False)
    with pytest.raises(ContractError, match="persons.age"):
        folder_data(broken)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        folder_data(tmp_path / "missing")


@settings(max_examples=40, deadline=None)
@given(
    ids=st.lists(st.integers(0, 30), min_size=2, max_size=200),
    share=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**32 - 1),
)
def test_split_keeps_each_person_on_one_side(ids, share, seed):
    n_persons = len(set(ids))
    n_valid = round(share * n_persons)
    if n_valid in (0, n_persons):
        with pytest.raises(ValueError, match="leaves one side empty"):
            split_persons(ids, share, seed)
        return
    mask = split_persons(ids, share, seed)
    frame = pd.DataFrame({"person": ids, "valid": mask})
    assert (frame.groupby("person")["valid"].nunique() == 1).all()
    assert frame.loc[frame.valid, "person"].nunique() == n_valid
    assert np.array_equal(mask, split_persons(ids, share, seed))


@pytest.mark.parametrize("share", [0.0, 1.0, -0.2, 1.5])
def test_split_refuses_shares_outside_the_unit_interval(share):
    with pytest.raises(ValueError, match="validation_share"):
        split_persons([1, 2, 3], share, 0)


def test_evaluation_with_truth_reports_regret_closure_and_plots(small, fitted, tmp_path):
    model, valid = fitted
    result = evaluate_recommender(model, valid, small.truth, n_bootstrap=20, plot_dir=tmp_path)
    m = result.metrics
    assert m["n_decision_points"] == len(valid)
    assert m["behaviour_value"] <= m["oracle_value"]
    assert m["regret_closure_low"] <= m["regret_closure"] <= m["regret_closure_high"]
    assert m["true_value_low"] <= m["true_value"] <= m["true_value_high"]
    expected = (m["true_value"] - m["behaviour_value"]) / (m["oracle_value"] - m["behaviour_value"])
    assert m["regret_closure"] == pytest.approx(expected)
    assert {p.name for p in result.plots} == {"qini_curves.png", "policy_values.png"}
    assert all(p.stat().st_size > 0 for p in result.plots)
    assert set(result.tables) == {"qini", "policies"}


def test_evaluation_without_truth_gives_off_policy_figures_only(fitted):
    model, valid = fitted
    result = evaluate_recommender(model, valid, None, n_bootstrap=20)
    assert "regret_closure" not in result.metrics
    assert result.metrics["dr_value_low"] <= result.metrics["dr_value_high"]
    assert np.isfinite(result.metrics["mean_qini"])
    assert result.plots == []


def test_evaluation_is_deterministic(small, fitted):
    model, valid = fitted
    first = evaluate_recommender(model, valid, small.truth, n_bootstrap=20, seed=5)
    second = evaluate_recommender(model, valid, small.truth, n_bootstrap=20, seed=5)
    assert first.metrics == second.metrics


# -- plans ----------------------------------------------------------------------------------------
def test_plans_are_judged_per_horizon_on_validation_persons(small, fitted, tmp_path):
    model, valid = fitted
    ids = valid.keys["person_id"]
    result = evaluate_plans(
        model, small, ids, horizons=(1, 2), n_starts=40, beam_width=2, seed=1, plot_dir=tmp_path
    )
    report, m = result.report, result.metrics
    assert list(report["k"]) == [1, 2] and m["n_plan_starts"] == 40
    for k in (1, 2):
        for name in ("plan_gain_closure", "plan_value", "plan_value_behaviour", "plan_value_best"):
            assert np.isfinite(m[f"{name}_k{k}"])
        assert m[f"plan_value_k{k}"] <= m[f"plan_value_best_k{k}"] + 1e-9
    row = report.set_index("k").loc[2]
    assert m["plan_value_k2"] == row["v_plans"]
    assert m["plan_gain_closure_k2"] == pytest.approx(
        (row["v_plans"] - row["v_behaviour"]) / (row["v_best_plan"] - row["v_behaviour"])
    )
    assert "person_id" not in report  # aggregates only
    assert [p.name for p in result.plots] == ["plan_values.png"]
    assert result.plots[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # More starts than validation persons: every one with a recorded episode is used.
    everyone = evaluate_plans(model, small, ids, horizons=(1,), n_starts=10**6, seed=1)
    assert everyone.metrics["n_plan_starts"] == ids.nunique()


def test_plans_need_a_world_simulated_in_the_run(small, fitted, tmp_path):
    model, valid = fitted
    generate(tmp_path / "d", 60, seed=1)
    folder = folder_data(tmp_path / "d")
    assert planning_skip_reason(small) is None
    assert "no world" in planning_skip_reason(folder)
    with pytest.raises(ValueError, match="no world to judge plans against"):
        evaluate_plans(model, folder, valid.keys["person_id"])


def test_plan_values_plot_refuses_a_table_without_its_columns(tmp_path):
    with pytest.raises(ValueError, match="v_best_plan"):
        plot_plan_values(pd.DataFrame({"k": [1], "v_plans": [0.5]}), tmp_path / "p.png")


def test_evaluate_allocation_gives_the_caseworkers_places_to_held_out_persons(
    recommender, served_data
):
    from adapt.pipeline import ExperimentData, evaluate_allocation, recorded_places

    data = ExperimentData(
        served_data["persons"], served_data["episodes"], served_data["truth"], "x", "simulated"
    )
    valid = served_data["persons"]["person_id"].iloc[::3]
    result = evaluate_allocation(recommender.model, data, valid)
    metrics = result.metrics
    waiting = served_data["episodes"][served_data["episodes"]["person_id"].isin(valid)]
    assert metrics["allocation_persons"] == waiting["person_id"].nunique()
    # the places are the caseworkers' last choices: as many as persons waiting
    assert result.cells["places"].sum() == metrics["allocation_persons"]
    assert metrics["allocation_overfilled"] == 0
    assert (result.cells["filled"] <= result.cells["places"]).all()
    assert metrics["allocation_value"] >= metrics["allocation_value_caseworkers"] - 1e-12
    assert metrics["allocation_true_value_best"] >= metrics["allocation_true_value"] - 1e-12
    assert metrics["allocation_true_value_best"] >= metrics["allocation_true_value_caseworkers"]
    catalogue = recommender.model.catalogue_
    region = catalogue.region_codes[0]
    code = catalogue.offered(region)[0]
    frame = pd.DataFrame({"region": [region, region], "intervention": [code, code]})
    places = recorded_places(frame, catalogue)
    assert places.set_index(["region", "intervention"]).loc[(region, code), "places"] == 2
    assert places["places"].sum() == 2

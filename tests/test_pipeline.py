"""The experiment's stages: data with a fingerprint, a split by person, the evaluation."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapt.contract import ContractError
from adapt.features import decision_points
from adapt.models import make_learner
from adapt.pipeline import evaluate_recommender, folder_data, simulated_data, split_persons
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

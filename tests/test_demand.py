"""Demand: planned starts per region, intervention and month under closed-loop plans, beside
today's volumes; `adapt demand` writing demand.parquet and report.html."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from adapt.catalogue import load_catalogue
from adapt.cli import main
from adapt.features import next_decision_points_for
from adapt.planning import Planner, demand
from adapt.planning._rollout import Rollouts

CATALOGUE = load_catalogue()
DAYS_PER_MONTH = 30.44


@pytest.fixture(scope="module")
def planned(recommender, served_data):
    """Six months of demand at k = 2 on the served population."""
    return demand(
        recommender.model,
        served_data["persons"],
        served_data["episodes"],
        recommender.transitions,
        months=6,
        k=2,
    )


def _ongoing(served_data):
    persons = served_data["persons"]
    return persons[persons["exit_reason"] == "ongoing"].sort_values("person_id")


def test_every_offered_cell_and_month_has_a_row_with_its_interval(planned, served_data):
    table = planned.table
    offered = CATALOGUE.availability()
    cells = {(r, c) for r in offered.index for c in offered.columns if offered.loc[r, c]}
    assert set(zip(table["region"], table["intervention"], strict=True)) == cells
    assert len(table) == len(cells) * 6
    assert sorted(table["month"].unique()) == list(range(1, 7))
    assert table["expected_starts"].notna().all()
    known = table
    assert (known["lower"] <= known["expected_starts"] + 1e-9).all()
    assert (known["expected_starts"] <= known["upper"] + 1e-9).all()
    assert (known["lower"] >= 0).all()
    assert planned.persons == len(_ongoing(served_data))
    assert planned.rollouts == 3  # the served model's half-samples


def test_marks_say_where_the_plans_surely_need_more_or_fewer_than_today(planned):
    for table in (planned.table, planned.totals):
        more, fewer = table["mark"] == "need more", table["mark"] == "superfluous"
        assert (table.loc[more, "expected_starts"] > table.loc[more, "today_starts"]).all()
        assert (table.loc[fewer, "expected_starts"] < table.loc[fewer, "today_starts"]).all()
        assert set(table["mark"]) <= {"need more", "superfluous", ""}
        known = table.dropna(subset=["today_lower"])
        assert (known["today_lower"] <= known["today_starts"] + 1e-9).all()
        assert (known["today_starts"] <= known["today_upper"] + 1e-9).all()
    assert set(planned.totals["mark"]) - {""}, "no cell marked at all on the served world"


def test_totals_are_the_months_summed(planned):
    summed = planned.table.groupby(["region", "intervention"], sort=False)[
        ["expected_starts", "today_starts"]
    ].sum(min_count=1)
    totals = planned.totals.set_index(["region", "intervention"])
    pd.testing.assert_frame_equal(
        summed.loc[totals.index], totals[["expected_starts", "today_starts"]], check_names=False
    )


def _first_round(recommender, served_data, policy, rollouts):
    """Each ongoing person's first rollout episode: starts per (region, intervention),
    summed over `rollouts` rollouts, and the persons below the top step."""
    model, transitions = recommender.model, recommender.transitions
    episodes = served_data["episodes"]
    ongoing = _ongoing(served_data).reset_index(drop=True)
    theirs = episodes[episodes["person_id"].isin(ongoing["person_id"])]
    planner = Planner(model, transitions, k=1, search="exact")
    rollout = Rollouts(model, planner, transitions, episodes, months=12, seed=0)
    position = np.arange(len(ongoing))
    runs = [
        rollout.run(ongoing, theirs, position, r, policy, max_rounds=1)[0] for r in range(rollouts)
    ]
    last_step = (
        theirs.sort_values("episode_no").groupby("person_id")["step_after"].last()
    ).reindex(ongoing["person_id"], fill_value=0)
    return sum(runs).sum(axis=-1), ongoing, theirs, (last_step < CATALOGUE.max_step).to_numpy()


def test_the_first_episode_is_the_first_of_each_persons_plan(recommender, served_data):
    starts, ongoing, theirs, below_top = _first_round(recommender, served_data, "plan", 1)
    model = recommender.model
    planner = Planner(model, recommender.transitions, k=1, search="exact")
    best = planner.search(ongoing, theirs).interventions[:, 0]
    expected = np.zeros_like(starts)
    region = pd.Index(CATALOGUE.region_codes).get_indexer(ongoing["region"])
    arm = pd.Index(model.interventions_).get_indexer(best)
    np.add.at(expected, (region[below_top], arm[below_top]), 1.0)
    np.testing.assert_array_equal(starts, expected)


def test_todays_first_episode_follows_the_caseworkers_behaviour(recommender, served_data):
    """Over many rollouts today's first interventions match the behaviour model's
    probabilities summed over the persons (non-repeatable ones done before left out)."""
    rollouts = 40
    starts, ongoing, theirs, below_top = _first_round(
        recommender, served_data, "behaviour", rollouts
    )
    model = recommender.model
    points = next_decision_points_for(model, ongoing, theirs)
    chance = np.nan_to_num(model.behaviour(model.encode(points.features)))[below_top]
    codes = list(model.interventions_)
    for i, pid in enumerate(ongoing["person_id"][below_top]):
        for code in theirs.loc[theirs["person_id"] == pid, "intervention"]:
            if not CATALOGUE.interventions[code].repeatable:
                chance[i, codes.index(code)] = 0.0
    chance /= chance.sum(axis=1, keepdims=True)
    observed = starts.sum(axis=0) / rollouts
    assert observed.sum() == pytest.approx(below_top.sum())
    spread = np.sqrt((chance * (1 - chance)).sum(axis=0) / rollouts)
    assert (np.abs(observed - chance.sum(axis=0)) <= 4 * spread + 1e-9).all()


def test_episode_lengths_are_drawn_from_the_records(recommender, served_data):
    """The rollouts' episodes last as long as recorded ones (their spread, not a median)."""
    model, transitions = recommender.model, recommender.transitions
    episodes = served_data["episodes"]
    rollout = Rollouts(model, Planner(model, transitions, k=1), transitions, episodes, 12, 0)
    for a, code in enumerate(model.interventions_):
        recorded = episodes.loc[episodes["intervention"] == code]
        if len(recorded):
            lengths = np.sort((recorded["end_day"] - recorded["start_day"]).to_numpy(float))
            np.testing.assert_array_equal(rollout.lengths[a], lengths)


def test_the_same_seed_gives_the_same_demand_whatever_the_chunks(recommender, served_data):
    args = (
        recommender.model,
        served_data["persons"],
        served_data["episodes"],
        recommender.transitions,
    )
    one = demand(*args, months=4, k=1, seed=3)
    chunked = demand(*args, months=4, k=1, seed=3, chunk_size=17)
    other = demand(*args, months=4, k=1, seed=4)
    pd.testing.assert_frame_equal(one.table, chunked.table)
    assert not one.table["expected_starts"].equals(other.table["expected_starts"])


def test_demand_refuses_a_table_without_ongoing_persons(recommender, served_data):
    persons = served_data["persons"]
    done = persons[persons["exit_reason"] != "ongoing"]
    episodes = served_data["episodes"]
    episodes = episodes[episodes["person_id"].isin(done["person_id"])]
    with pytest.raises(ValueError, match="persons.exit_reason: no person is 'ongoing'"):
        demand(recommender.model, done, episodes, recommender.transitions)


@pytest.mark.parametrize(("name", "value"), [("months", 0), ("months", 61), ("rollouts", 1.5)])
def test_demand_refuses_bad_settings_naming_them(recommender, served_data, name, value):
    with pytest.raises(ValueError, match=name):
        demand(
            recommender.model,
            served_data["persons"],
            served_data["episodes"],
            recommender.transitions,
            **{name: value},
        )


def test_adapt_demand_writes_the_table_and_the_report(tmp_path, model_folder, served_data):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("persons", "episodes"):
        served_data[name].to_parquet(data / f"{name}.parquet")
    out = tmp_path / "demand"
    args = ["demand", "--model", str(model_folder), "--data", str(data), "--months", "3"]
    result = CliRunner().invoke(main, [*args, "--k", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "demand.parquet")
    assert {"region", "intervention", "month", "expected_starts", "today_starts", "mark"} <= set(
        table.columns
    )
    assert set(table["month"]) == {1, 2, 3}
    html = (out / "report.html").read_text("utf-8")
    assert '<table id="heatmap">' in html and "http" not in html.replace("http-equiv", "")
    again = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert again.exit_code != 0 and "--overwrite" in again.output

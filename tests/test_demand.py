"""Demand: planned starts per region, intervention and month under closed-loop plans, beside
today's volumes; `adapt demand` writing demand.parquet and report.html."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from adapt.catalogue import load_catalogue
from adapt.cli import main
from adapt.planning import Planner, demand

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


def test_marks_say_where_the_interval_excludes_todays_volume(planned):
    for table in (planned.table, planned.totals):
        more = table["lower"] > table["today_starts"]
        fewer = table["upper"] < table["today_starts"]
        assert (table["mark"] == np.select([more, fewer], ["need more", "superfluous"], "")).all()
    assert set(planned.totals["mark"]) - {""}, "no cell marked at all on the served world"


def test_totals_are_the_months_summed(planned):
    summed = planned.table.groupby(["region", "intervention"], sort=False)[
        ["expected_starts", "today_starts"]
    ].sum(min_count=1)
    totals = planned.totals.set_index(["region", "intervention"])
    pd.testing.assert_frame_equal(
        summed.loc[totals.index], totals[["expected_starts", "today_starts"]], check_names=False
    )


def test_the_first_month_starts_each_persons_best_intervention(recommender, served_data):
    """k = 1, one month: every ongoing person below the top starts exactly one episode in
    month 1: the first of the plan `Planner` gives them."""
    model = recommender.model
    persons, episodes = served_data["persons"], served_data["episodes"]
    result = demand(model, persons, episodes, recommender.transitions, months=1, k=1)
    ongoing = _ongoing(served_data)
    theirs = episodes[episodes["person_id"].isin(ongoing["person_id"])]
    best = Planner(model, recommender.transitions, k=1).search(ongoing, theirs).interventions[:, 0]
    last_step = (
        theirs.sort_values("episode_no").groupby("person_id")["step_after"].last()
    ).reindex(ongoing["person_id"], fill_value=0)
    below_top = (last_step < CATALOGUE.max_step).to_numpy()
    expected = (
        pd.DataFrame({"region": ongoing["region"].to_numpy(), "intervention": best})[below_top]
        .value_counts()
        .rename("n")
    )
    table = result.table.set_index(["region", "intervention"])["expected_starts"]
    assert table.sum() == pytest.approx(below_top.sum())
    for cell, n in expected.items():
        assert table.loc[cell] == pytest.approx(n)
    assert result.enrolled["persons"].sum() == pytest.approx(below_top.sum())


def test_todays_starts_are_the_recorded_rate_per_enrolled_month(recommender, served_data):
    persons, episodes = served_data["persons"], served_data["episodes"]
    result = demand(recommender.model, persons, episodes, recommender.transitions, months=1, k=1)
    last_end = episodes.groupby("person_id")["end_day"].max()
    until = persons["exit_day"].astype(float).fillna(persons["person_id"].map(last_end))
    months = (until.fillna(0) / DAYS_PER_MONTH).groupby(persons["region"]).sum()
    region_of = persons.set_index("person_id")["region"]
    counts = episodes.groupby([episodes["person_id"].map(region_of), "intervention"]).size()
    enrolled = result.enrolled.set_index("region")["persons"]
    for row in result.table.itertuples():
        recorded = counts.get((row.region, row.intervention), 0)
        rate = recorded / months[row.region]
        assert row.today_starts == pytest.approx(rate * enrolled[row.region])


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

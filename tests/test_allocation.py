"""Allocation: the exact best allocation, its dual prices, the places file, `allocate` and the
`adapt allocate` command."""

import itertools

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from adapt.allocation import (
    WAITS,
    PlacesError,
    best_allocation,
    check_places,
    first_come,
    read_places,
)
from adapt.catalogue import load_catalogue
from adapt.cli import main
from adapt.planning import Planner, allocate

CATALOGUE = load_catalogue()


def _brute_force(values, region, places):
    best = 0.0
    n, a = values.shape
    for combo in itertools.product(range(-1, a), repeat=n):
        used = np.zeros_like(places)
        total = 0.0
        for i, c in enumerate(combo):
            if c >= 0:
                if not np.isfinite(values[i, c]):
                    break
                used[region[i], c] += 1
                total += values[i, c]
        else:
            if (used <= places).all():
                best = max(best, total)
    return best


@st.composite
def problems(draw):
    n = draw(st.integers(1, 5))
    a = draw(st.integers(1, 3))
    cells = st.one_of(st.none(), st.floats(-0.2, 1.0, allow_nan=False))
    raw = draw(st.lists(st.lists(cells, min_size=a, max_size=a), min_size=n, max_size=n))
    values = np.array([[np.nan if v is None else v for v in row] for row in raw], float)
    region = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    places = np.array(
        draw(st.lists(st.lists(st.integers(0, 2), min_size=a, max_size=a), min_size=2, max_size=2))
    )
    return values, region, places


@settings(max_examples=150, deadline=None)
@given(problems())
def test_best_allocation_is_the_best_and_fits_the_places(problem):
    values, region, places = problem
    solution = best_allocation(values, region, places)
    given_ = solution.assignment != WAITS
    taken = values[np.flatnonzero(given_), solution.assignment[given_]]
    assert np.all(taken > 0), "only pairs of positive, known value are taken"
    filled = np.zeros_like(places)
    np.add.at(filled, (region[given_], solution.assignment[given_]), 1)
    assert (filled <= places).all()
    assert solution.value == pytest.approx(taken.sum())
    # HiGHS's optimality tolerance (1e-7): a pair worth less may be left out (SciPy 1.13 does)
    assert solution.value == pytest.approx(_brute_force(values, region, places), abs=1e-6)


def test_dual_prices_are_the_value_of_one_more_place():
    # one region; arm 0 has one place, wanted by persons worth 0.9, 0.5, 0.2; arm 1 has spare
    # places; arm 2 has none and the person who would gain 0.7 from it waits
    values = np.array(
        [[0.9, np.nan, np.nan], [0.5, np.nan, np.nan], [0.2, np.nan, np.nan], [np.nan, 0.4, 0.7]]
    )
    places = np.array([[1, 3, 0]])
    solution = best_allocation(values, np.zeros(4, int), places)
    assert solution.assignment.tolist() == [0, WAITS, WAITS, 1]
    assert solution.duals[0].tolist() == pytest.approx([0.5, 0.0, 0.3])
    for arm, dual in enumerate(solution.duals[0]):
        more = places.copy()
        more[0, arm] += 1
        gain = best_allocation(values, np.zeros(4, int), more).value - solution.value
        assert gain == pytest.approx(dual)


def test_first_come_serves_in_order_and_takes_the_best_left():
    values = np.array([[0.2, 0.9], [0.3, 0.8], [0.1, np.nan]])
    places = np.array([[1, 1]])
    assignment = first_come(values, np.zeros(3, int), places, order=np.array([1, 0, 2]))
    assert assignment.tolist() == [0, 1, WAITS]


# -- the places file ---------------------------------------------------------------------------
def _region_with_gap():
    """A region and an intervention it does not offer."""
    for region in CATALOGUE.region_codes:
        missing = set(CATALOGUE.intervention_codes) - set(CATALOGUE.offered(region))
        if missing:
            return region, sorted(missing)[0]
    pytest.skip("every region offers everything")


def _places_csv(tmp_path, lines):
    path = tmp_path / "places.csv"
    path.write_text("region,intervention,places\n" + "\n".join(lines) + "\n", "utf-8")
    return path


def test_read_places_reads_a_valid_file(tmp_path):
    region = CATALOGUE.region_codes[0]
    a, b = CATALOGUE.offered(region)[:2]
    places = read_places(_places_csv(tmp_path, [f"{region},{a},3", f"{region},{b},0"]), CATALOGUE)
    assert places.to_dict("records") == [
        {"region": region, "intervention": a, "places": 3},
        {"region": region, "intervention": b, "places": 0},
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("nowhere,{a},3", "line 3: region 'nowhere' is not in the catalogue"),
        ("{r},magic,3", "line 3: intervention 'magic' is not in the catalogue"),
        ("{r},{b},-1", "line 3: places must be a whole number from 0 to 10,000,000, got '-1'"),
        ("{r},{b},2.5", "line 3: places must be a whole number from 0 to 10,000,000, got '2.5'"),
        ("{r},{b},", "line 3: places must be a whole number from 0 to 10,000,000, got ''"),
        ("{r},{a},4", "line 3: region '{r}', intervention '{a}' again (first on line 2)"),
        ("{g},{missing},1", "line 3: intervention '{missing}' is not offered in region '{g}'"),
    ],
)
def test_bad_places_are_refused_naming_file_line_and_value(tmp_path, line, expected):
    region = CATALOGUE.region_codes[0]
    a, b = CATALOGUE.offered(region)[:2]
    gap_region, missing = _region_with_gap()
    names = {"r": region, "a": a, "b": b, "g": gap_region, "missing": missing}
    path = _places_csv(tmp_path, [f"{region},{a},3", line.format(**names)])
    with pytest.raises(PlacesError) as error:
        read_places(path, CATALOGUE)
    assert str(error.value) == f"{path} {expected.format(**names)}"


def test_a_places_file_without_its_columns_is_refused(tmp_path):
    path = tmp_path / "places.csv"
    path.write_text("region,places\nx,1\n", "utf-8")
    with pytest.raises(PlacesError, match=r"missing column\(s\) \['intervention'\]"):
        read_places(path, CATALOGUE)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=24), st.integers(-5, 2**70), st.floats(allow_nan=True)))
def test_any_places_value_is_taken_as_a_whole_number_or_refused(value):
    region = CATALOGUE.region_codes[0]
    raw = pd.DataFrame(
        {"region": [region], "intervention": [CATALOGUE.offered(region)[0]], "places": [value]}
    )
    try:
        places = check_places(raw, CATALOGUE)
    except PlacesError as error:
        assert "line 2: places must be a whole number from 0 to 10,000,000" in str(error)
    else:
        assert places["places"].iloc[0] >= 0
        assert float(str(value).strip()) == places["places"].iloc[0]


# -- allocate ----------------------------------------------------------------------------------
def _waiting(served_data, n=200):
    persons = served_data["persons"].iloc[:n].reset_index(drop=True)
    episodes = served_data["episodes"][
        served_data["episodes"]["person_id"].isin(persons["person_id"])
    ]
    return persons, episodes


def _scarce_places(persons, share=0.3):
    rows = []
    for region, count in persons["region"].astype(str).value_counts().items():
        offered = CATALOGUE.offered(region)
        for i, code in enumerate(offered):
            rows.append((region, code, str(int(share * count / len(offered)) + (i == 0))))
    return check_places(pd.DataFrame(rows, columns=["region", "intervention", "places"]), CATALOGUE)


def test_allocate_fills_no_cell_beyond_its_places_and_beats_first_come(recommender, served_data):
    persons, episodes = _waiting(served_data)
    places = _scarce_places(persons)
    result = allocate(recommender.model, persons, episodes, places)
    given_ = result.persons.dropna(subset=["intervention"])
    filled = given_.groupby(["region", "intervention"]).size()
    limit = places.set_index(["region", "intervention"])["places"]
    assert (filled <= limit.reindex(filled.index)).all()
    cells = result.cells.set_index(["region", "intervention"])
    assert (cells.loc[filled.index, "filled"].to_numpy() == filled.to_numpy()).all()
    assert result.persons["person_id"].is_unique and len(result.persons) == len(persons)
    assert (result.persons["value_lost"] >= -1e-12).all()
    assert result.value_lower <= result.value <= result.value_upper
    baseline = allocate(recommender.model, persons, episodes, places, rule="first_come")
    assert result.value >= baseline.value - 1e-9
    waits = result.persons["intervention"].isna()
    assert (result.persons.loc[waits, "value"] == 0).all()
    assert result.persons.loc[~waits, "p_progress"].between(0, 1).all()


def test_allocate_does_not_depend_on_the_order_of_the_files(recommender, served_data):
    persons, episodes = _waiting(served_data)
    places = _scarce_places(persons)
    first = allocate(recommender.model, persons, episodes, places)
    shuffled = allocate(
        recommender.model,
        persons.sample(frac=1, random_state=3),
        episodes.sample(frac=1, random_state=4),
        places.sample(frac=1, random_state=5),
    )
    pd.testing.assert_frame_equal(first.persons, shuffled.persons)
    pd.testing.assert_frame_equal(first.cells, shuffled.cells)


def test_with_places_for_all_everyone_gets_their_best(recommender, served_data):
    persons, episodes = _waiting(served_data, 80)
    rows = [(r, c, "1000") for r in CATALOGUE.region_codes for c in CATALOGUE.offered(r)]
    places = check_places(
        pd.DataFrame(rows, columns=["region", "intervention", "places"]), CATALOGUE
    )
    result = allocate(recommender.model, persons, episodes, places)
    assert (result.persons["intervention"] == result.persons["best_intervention"]).all()
    assert (result.cells["value_of_place"].dropna() == 0).all()


def test_plan_values_by_first_intervention_match_the_planner(recommender, served_data):
    persons, episodes = _waiting(served_data, 40)
    planner = Planner(recommender.model, recommender.transitions, k=2, search="exact")
    values = planner.first_values(persons, episodes)
    plans = planner.search(persons, episodes)
    # the best over first interventions is at least the plan found (the beam keeps 4 of them)
    assert np.all(np.nanmax(values, axis=1) >= plans.value - 1e-9)
    first = pd.Index(recommender.model.interventions_).get_indexer(plans.interventions[:, 0])
    assert np.all(values[np.arange(len(persons)), first] >= plans.value - 1e-9)
    one = Planner(recommender.model, recommender.transitions, k=1, search="exact")
    assert np.allclose(
        np.nanmax(one.first_values(persons, episodes), axis=1), one.search(persons, episodes).value
    )


# -- the command -------------------------------------------------------------------------------
def test_adapt_allocate_writes_persons_and_cells(tmp_path, model_folder, served_data):
    persons, episodes = _waiting(served_data, 150)
    data = tmp_path / "data"
    data.mkdir()
    persons.to_parquet(data / "persons.parquet")
    episodes.to_parquet(data / "episodes.parquet")
    places = _scarce_places(persons)
    places.to_csv(tmp_path / "places.csv", index=False)
    out = tmp_path / "alloc.csv"
    args = ["allocate", "--model", str(model_folder), "--data", str(data)]
    result = CliRunner().invoke(
        main, [*args, "--places", str(tmp_path / "places.csv"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, keep_default_na=False)
    assert len(table) == len(persons)
    assert set(table["intervention"]) - {""} <= set(CATALOGUE.intervention_codes)
    cells = pd.read_csv(tmp_path / "alloc_cells.csv")
    assert {"region", "intervention", "places", "filled", "value_of_place"} <= set(cells.columns)
    assert "one more" in result.output


def test_adapt_allocate_refuses_a_bad_places_file_in_one_line(tmp_path, model_folder, served_data):
    persons, episodes = _waiting(served_data, 20)
    data = tmp_path / "data"
    data.mkdir()
    persons.to_parquet(data / "persons.parquet")
    episodes.to_parquet(data / "episodes.parquet")
    bad = _places_csv(tmp_path, ["atlantis,ips,3"])
    result = CliRunner().invoke(
        main,
        ["allocate", "--model", str(model_folder), "--data", str(data), "--places", str(bad)]
        + ["--out", str(tmp_path / "a.csv")],
    )
    assert result.exit_code == 2
    assert f"{bad} line 2: region 'atlantis' is not in the catalogue" in result.output
    assert "Traceback" not in result.output

"""Fairness under scarcity: the gender-gap capped allocation and the audit of allocations."""

import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from adapt.allocation import WAITS, best_allocation
from adapt.catalogue import load_catalogue
from adapt.cli import main
from adapt.fairness import audit_allocation, capped_allocate
from adapt.fairness.mitigation import gap_capped_allocation
from adapt.fairness.mitigation._problem import _gaps

CATALOGUE = load_catalogue()


def _planted(n=2000, seed=0):
    """Women gain more from intervention 0: the best allocation gives it to women only."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.05, 0.4, (n, 4))
    gender = rng.choice(["woman", "man", "unknown"], n, p=[0.48, 0.48, 0.04])
    values[gender == "woman", 0] += 0.2
    region = rng.integers(0, 2, n)
    strata = rng.integers(0, 6, n)
    places = np.full((2, 4), n // 10)
    return values, region, places, gender, strata


def _check_feasible(assignment, values, region, places):
    given = assignment != WAITS
    assert np.isfinite(values[np.flatnonzero(given), assignment[given]]).all()
    filled = np.zeros_like(places)
    np.add.at(filled, (region[given], assignment[given]), 1)
    assert (filled <= places).all()


def _similar_gap(assignment, gender, strata, arm):
    """The women/men gap of `arm`'s similar-situation rate, computed from scratch."""
    frame = pd.DataFrame({"g": gender, "s": strata, "x": assignment == arm})
    frame = frame[frame["g"] != "unknown"]
    counts = frame.groupby(["s", "g"]).size().unstack(fill_value=0)
    mix = counts["woman"] * counts["man"] / (counts["woman"] + counts["man"])
    mix = mix / mix.sum()
    rate = frame.groupby(["s", "g"])["x"].mean().unstack()
    return float(_gaps((rate["woman"] * mix).sum(), (rate["man"] * mix).sum()))


def test_the_cap_closes_a_planted_gap_within_the_places():
    values, region, places, gender, strata = _planted()
    free = best_allocation(values, region, places)
    capped = gap_capped_allocation(values, region, places, gender, strata, max_gap=0.2)
    assert capped.greedy_gap > 0.5 and capped.met
    assert capped.gap <= 0.2
    assert _similar_gap(capped.assignment, gender, strata, 0) <= 0.2 + 1e-9
    assert _similar_gap(free.assignment, gender, strata, 0) > 0.5
    _check_feasible(capped.assignment, values, region, places)
    assert capped.value <= free.value
    # the cap costs little: most of the value of the free allocation stays
    assert capped.value > 0.95 * free.value


def test_without_a_gap_the_cap_changes_nothing():
    values, region, places, gender, strata = _planted()
    values[gender == "woman", 0] -= 0.2  # no gender difference left
    free = best_allocation(values, region, places)
    capped = gap_capped_allocation(values, region, places, gender, strata, max_gap=0.5)
    assert capped.met and capped.gap == capped.greedy_gap
    np.testing.assert_array_equal(capped.assignment, free.assignment)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(20, 200),
    cap=st.floats(0.0, 1.0),
    places=st.integers(0, 30),
)
def test_any_capped_allocation_is_feasible_and_reports_its_gap(seed, n, cap, places):
    rng = np.random.default_rng(seed)
    values = rng.uniform(-0.1, 0.5, (n, 3))
    values[rng.random((n, 3)) < 0.2] = np.nan
    gender = rng.choice(["woman", "man"], n)
    strata = rng.integers(0, 3, n)
    region = rng.integers(0, 2, n)
    cells = np.full((2, 3), places)
    solution = gap_capped_allocation(
        values, region, cells, gender, strata, max_gap=cap, min_recommended=5
    )
    _check_feasible(solution.assignment, values, region, cells)
    assert solution.met == (solution.gap <= cap)


def test_capped_allocate_keeps_the_served_models_gaps_within_the_cap(recommender, served_data):
    persons, episodes = served_data["persons"], served_data["episodes"]
    places = pd.DataFrame(
        [(r, c, 30) for r in CATALOGUE.region_codes for c in CATALOGUE.offered(r)],
        columns=["region", "intervention", "places"],
    )
    result = capped_allocate(recommender.model, persons, episodes, places, 0.2)
    assert set(result.cap) == {"max_gap", "greedy_gap", "gap", "met"}
    cells = result.persons.dropna(subset=["intervention"]).groupby(["region", "intervention"])
    assert (cells.size() <= 30).all()
    free = capped_allocate(recommender.model, persons, episodes, places, 1.0)
    assert free.cap["gap"] == free.cap["greedy_gap"]
    assert result.value <= free.value + 1e-9


def _allocation(persons, choose):
    return pd.DataFrame(
        {
            "person_id": persons["person_id"],
            "intervention": [choose(p) for p in persons.itertuples()],
        }
    )


def test_the_audit_of_an_allocation_fails_when_women_are_made_to_wait(served_data):
    persons, episodes = served_data["persons"], served_data["episodes"]
    unfair = _allocation(
        persons, lambda p: None if p.gender == "woman" else CATALOGUE.offered(p.region)[0]
    )
    result = audit_allocation(persons, episodes, unfair)
    assert result.audited == "allocation"
    assert result.verdict == "failed"
    failed = {c.name for c in result.of("recommender", "failed")}
    assert "similar_rate_ratio[waits]" in failed

    everyone = _allocation(persons, lambda p: CATALOGUE.offered(p.region)[0])
    fair = audit_allocation(persons, episodes, everyone)
    assert not fair.of("recommender", "failed")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.iloc[1:], "person(s) have no row"),
        (lambda a: pd.concat([a, a.iloc[:1]]), "person_id repeated"),
        (lambda a: a.assign(intervention="juggling"), "codes the catalogue lacks: ['juggling']"),
        (lambda a: a.drop(columns="intervention"), "lacks the column(s) ['intervention']"),
    ],
)
def test_a_bad_allocation_is_refused_naming_what_is_wrong(served_data, change, message):
    persons, episodes = served_data["persons"], served_data["episodes"]
    allocation = _allocation(persons, lambda p: CATALOGUE.offered(p.region)[0])
    with pytest.raises(ValueError, match=re.escape(message)):
        audit_allocation(persons, episodes, change(allocation))


def test_a_place_the_region_does_not_offer_is_refused(served_data):
    persons, episodes = served_data["persons"], served_data["episodes"]
    first = persons.iloc[0]
    missing = next(
        c for c in CATALOGUE.intervention_codes if c not in CATALOGUE.offered(first.region)
    )
    allocation = _allocation(persons, lambda p: CATALOGUE.offered(p.region)[0])
    allocation.loc[0, "intervention"] = missing
    with pytest.raises(ValueError, match="does not offer"):
        audit_allocation(persons, episodes, allocation)


def test_adapt_allocate_with_cap_then_adapt_audit_of_the_allocation(
    tmp_path, model_folder, served_data
):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("persons", "episodes"):
        served_data[name].to_parquet(data / f"{name}.parquet")
    places = tmp_path / "places.csv"
    pd.DataFrame(
        [(r, c, 25) for r in CATALOGUE.region_codes for c in CATALOGUE.offered(r)],
        columns=["region", "intervention", "places"],
    ).to_csv(places, index=False)
    alloc = tmp_path / "alloc.csv"
    runner = CliRunner()
    common = ["--model", str(model_folder), "--data", str(data), "--places", str(places)]
    result = runner.invoke(main, ["allocate", *common, "--cap-gap", "0.2", "--out", str(alloc)])
    assert result.exit_code == 0, result.output
    assert "gender cap 0.20" in result.output
    audited = runner.invoke(
        main,
        ["audit", "--data", str(data), "--allocation", str(alloc), "--out", str(tmp_path / "a")],
    )
    assert audited.exit_code in (0, 3), audited.output
    assert "allocation checks" in audited.output
    html = (tmp_path / "a" / "report.html").read_text("utf-8")
    assert "Gender audit of the allocation" in html
    both = runner.invoke(
        main,
        ["audit", "--data", str(data), "--allocation", str(alloc), "--model", str(model_folder)]
        + ["--out", str(tmp_path / "b")],
    )
    assert both.exit_code == 2 and "exactly one of" in both.output

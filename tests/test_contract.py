"""The data contract: every rule is caught, reported on the right rows, and nothing is modified."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapt.catalogue import load_catalogue
from adapt.contract import (
    EPISODE_COLUMNS,
    ContractError,
    Violation,
    check_folder,
    check_tables,
    read_table,
    validate_tables,
)

CAT = load_catalogue()
FUZZ = settings(max_examples=30, deadline=None)

CATEGORIES = {
    "gender": ("woman", "man", "unknown"),
    "income_source": (
        "sickness_benefit",
        "activity_compensation",
        "sickness_compensation",
        "social_assistance",
        "unemployment_benefit",
        "no_income",
        "other",
    ),
    "referral_source": (
        "municipality",
        "employment_service",
        "social_insurance",
        "healthcare",
        "self",
    ),
    "education": ("compulsory", "upper_secondary", "post_secondary", "unknown"),
    "swedish_level": ("weak", "basic", "fluent"),
}


def make_persons() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": ["p1", "p2", "p3", "p4"],
            "gender": ["woman", "man", "unknown", "woman"],
            "age": [30, 45, 67, 16],
            "region": ["hbs", "hbs", "sodertalje", "varna"],
            "years_on_support": [6.5, 0.0, 12.0, 1.25],
            "income_source": ["social_assistance", "sickness_benefit", "other", "no_income"],
            "referral_source": ["municipality", "healthcare", "self", "employment_service"],
            "education": ["compulsory", "upper_secondary", "unknown", "post_secondary"],
            "born_abroad": [True, False, True, False],
            "swedish_level": ["weak", "fluent", "basic", "fluent"],
            "mental_ill_health": [True, True, False, False],
            "violence_exposure": [False, True, False, False],
            "exit_day": pd.array([200, None, 300, None], dtype="Int64"),
            "exit_reason": ["work", "ongoing", "dropped_out", "ongoing"],
            "x_municipality": ["Huddinge", None, "Södertälje", "Värmdö"],  # extra; nulls fine
        }
    )


def make_episodes() -> pd.DataFrame:
    rows = [
        # person, no, intervention, start, end, hours, before, after
        ("p1", 1, "case_management", 0, 90, 20.0, 0, 1),
        ("p1", 2, "supported_employment", 30, 150, 35.5, 1, 2),  # overlaps CM: allowed
        ("p1", 3, "case_management", 150, 200, 10.0, 2, 3),
        ("p2", 1, "work_training_social_enterprise", 0, 60, 80.0, 1, 2),
        ("p2", 2, "work_training_employer", 60, 180, 120.0, 2, 2),
        ("p3", 1, "ips", 10, 100, 15.0, 0, 0),
        ("p3", 2, "boston_model", 10, 50, 12.0, 0, 1),  # same start day: allowed
        ("p4", 1, "mobilisation_course", 0, 70, 90.0, 0, 1),
        ("p4", 2, "mi_counselling", 70, 120, 6.0, 1, 0),  # a step back
    ]
    return pd.DataFrame(rows, columns=list(EPISODE_COLUMNS))


def make_truth() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": ["p1", "p1", "p3", "p4"],
            "episode_no": [1, 1, 2, 2],
            "intervention": ["case_management", "supported_employment", "ips", "network_meeting"],
            "p_progress": [0.4, 0.55, 0.0, 1.0],
        }
    )


def check(persons=None, episodes=None, truth=None, catalogue=None) -> list[Violation]:
    return check_tables(
        make_persons() if persons is None else persons,
        make_episodes() if episodes is None else episodes,
        truth,
        catalogue or CAT,
    )


def only(violations: list[Violation]) -> Violation:
    assert len(violations) == 1, "\n".join(map(str, violations))
    return violations[0]


def with_row(df: pd.DataFrame, **values) -> pd.DataFrame:
    """`df` with one more row: a copy of row 0 with `values` changed."""
    row = df.iloc[[0]].copy()
    for col, value in values.items():
        row[col] = value
    return pd.concat([df, row], ignore_index=True)


def set_cell(df: pd.DataFrame, rows, col, value) -> pd.DataFrame:
    df = df.copy()
    df.loc[rows, col] = value
    return df


# ---------------------------------------------------------------------------- valid tables


def test_valid_tables_have_no_violations():
    assert check(truth=make_truth()) == []
    assert validate_tables(make_persons(), make_episodes(), make_truth(), CAT) is None


def test_default_catalogue_is_the_built_in_one():
    assert check_tables(make_persons(), make_episodes()) == []


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda p: p.astype({"person_id": object, "gender": object}), id="object"),
        pytest.param(lambda p: p.astype({"region": "string"}), id="string"),
        pytest.param(lambda p: p.astype({"gender": "category"}), id="category"),
        pytest.param(lambda p: p.astype({"age": "Int64", "born_abroad": "boolean"}), id="nullable"),
        pytest.param(lambda p: p.astype({"exit_day": "float64"}), id="float-exit-day"),
        pytest.param(lambda p: p.astype({"years_on_support": "int64"}), id="int"),
    ],
)
def test_equivalent_dtypes_are_accepted(variant):
    persons = make_persons()
    persons["years_on_support"] = [6.0, 0.0, 12.0, 1.0]
    assert check(persons=variant(persons)) == []


def test_extra_columns_with_x_prefix_are_allowed():
    episodes = make_episodes().assign(x_staff=3, x_note="anything")
    assert check(episodes=episodes) == []


def test_row_order_and_index_labels_do_not_matter():
    episodes = make_episodes().iloc[::-1].set_axis(list("abcdefghi"))
    assert check(episodes=episodes) == []


# ------------------------------------------------------------------------- message format


def test_violation_str_is_one_line():
    v = Violation("episodes", "step_after", "outside 0..5", 3, (17, 240, 881))
    assert str(v) == "episodes.step_after: 3 rows outside 0..5 (rows 17, 240, 881)"
    assert str(Violation("persons", "age", "outside 16..67", 1, (2,))) == (
        "persons.age: 1 row outside 16..67 (row 2)"
    )
    assert str(Violation("persons", "gender", "missing column")) == "persons.gender: missing column"


def test_more_than_ten_rows_are_cut_with_an_ellipsis():
    episodes = pd.concat([make_episodes()] * 2, ignore_index=True)
    episodes["step_after"] = 9
    v = next(v for v in check(episodes=episodes) if v.column == "step_after")
    assert (v.n_rows, v.rows) == (18, tuple(range(10)))
    assert str(v) == (
        "episodes.step_after: 18 rows outside 0..5 (rows 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, …)"
    )


def test_contract_error_lists_every_violation():
    persons = set_cell(make_persons(), 1, "age", 99)
    episodes = set_cell(make_episodes(), [3, 5], "step_after", -1)
    with pytest.raises(ContractError) as caught:
        validate_tables(persons, episodes, catalogue=CAT)
    err = caught.value
    assert isinstance(err, ValueError)
    assert [(v.table, v.column) for v in err.violations] == [
        ("persons", "age"),
        ("episodes", "step_after"),
    ]
    assert str(err).splitlines() == [
        "data contract violated: 2 violations",
        "  persons.age: 1 row outside 16..67 (row 1)",
        "  episodes.step_after: 2 rows outside 0..5 (rows 3, 5)",
    ]


def test_non_dataframe_input_is_a_type_error():
    with pytest.raises(TypeError, match="persons must be a pandas DataFrame"):
        check_tables({"person_id": ["p1"]}, make_episodes())


# --------------------------------------------------------------- one rule, one violation

# (table, mutate persons/episodes/truth, expected column, expected rows, rule text)
P, E, T = "persons", "episodes", "truth"
CASES = {
    "missing column": (P, lambda t: t[P].drop(columns="gender"), "gender", (), "missing column"),
    "unexpected column": (
        E,
        lambda t: t[E].assign(notes="x"),
        "notes",
        (),
        "unexpected column (extra columns must start with x_)",
    ),
    "float int column": (
        E,
        lambda t: t[E].astype({"step_after": float}),
        "step_after",
        (),
        "wrong dtype: expected int, got float64",
    ),
    "fractional exit_day": (
        P,
        lambda t: set_cell(t[P].astype({"exit_day": float}), 0, "exit_day", 200.5),
        "exit_day",
        (),
        "wrong dtype: expected int, got float64 with fractional or infinite values",
    ),
    "int ids": (
        E,
        lambda t: t[E].assign(person_id=range(9)),
        "person_id",
        (),
        "wrong dtype: expected str, got int64",
    ),
    "mixed object": (
        P,
        lambda t: t[P].astype({"region": object}).pipe(set_cell, 2, "region", 7),
        "region",
        (),
        "wrong dtype: expected str, got object holding mixed-integer values",
    ),
    "int bool": (
        P,
        lambda t: t[P].astype({"born_abroad": int}),
        "born_abroad",
        (),
        "wrong dtype: expected bool, got int64",
    ),
    "str float": (
        E,
        lambda t: t[E].astype({"hours": str}),
        "hours",
        (),
        "wrong dtype: expected float, got str",
    ),
    "null str": (P, lambda t: set_cell(t[P], [1, 3], "gender", None), "gender", (1, 3), "null"),
    "null int": (
        E,
        lambda t: set_cell(t[E].astype({"step_before": "Int64"}), 4, "step_before", pd.NA),
        "step_before",
        (4,),
        "null",
    ),
    "null float": (E, lambda t: set_cell(t[E], 2, "hours", np.nan), "hours", (2,), "null"),
    "age": (P, lambda t: set_cell(t[P], [0, 2], "age", [15, 68]), "age", (0, 2), "outside 16..67"),
    "support": (
        P,
        lambda t: set_cell(t[P], 3, "years_on_support", -0.5),
        "years_on_support",
        (3,),
        "below 0",
    ),
    "hours": (E, lambda t: set_cell(t[E], 8, "hours", -1.0), "hours", (8,), "below 0"),
    "infinite": (E, lambda t: set_cell(t[E], 5, "hours", np.inf), "hours", (5,), "infinite"),
    "step": (E, lambda t: set_cell(t[E], 6, "step_before", 6), "step_before", (6,), "outside 0..5"),
    "start_day": (E, lambda t: set_cell(t[E], 0, "start_day", -1), "start_day", (0,), "below 0"),
    "gender": (
        P,
        lambda t: set_cell(t[P], [0, 3], "gender", ["female", "f"]),
        "gender",
        (0, 3),
        "not one of woman | man | unknown (got 'female', 'f')",
    ),
    "region": (
        P,
        lambda t: set_cell(t[P], 2, "region", "mars"),
        "region",
        (2,),
        "not in the catalogue (got 'mars')",
    ),
    "intervention": (
        E,
        lambda t: set_cell(t[E], [1, 4, 7], "intervention", "yoga"),
        "intervention",
        (1, 4, 7),
        "not in the catalogue (got 'yoga')",
    ),
    "duplicate person": (
        P,
        lambda t: with_row(t[P]),
        "person_id",
        (0, 4),
        "duplicate person_id (got 'p1')",
    ),
    "orphan": (
        E,
        lambda t: with_row(t[E], person_id="p9", episode_no=1),
        "person_id",
        (9,),
        "with a person_id not in persons (got 'p9')",
    ),
    "duplicate episode_no": (
        E,
        lambda t: set_cell(t[E], 2, "episode_no", 2),
        "episode_no",
        (1, 2),
        "duplicated within a person",
    ),
    "episode_no gap": (
        E,
        lambda t: set_cell(t[E], 2, "episode_no", 4),
        "episode_no",
        (0, 1, 2),
        "of a person whose episode_no is not 1..n without gaps",
    ),
    "end before start": (
        E,
        lambda t: set_cell(t[E], 4, "end_day", 50),
        "end_day",
        (4,),
        "before start_day",
    ),
    "start goes back": (
        E,
        lambda t: set_cell(t[E], 6, "start_day", 5),
        "start_day",
        (6,),
        "earlier than the previous episode's start_day (by episode_no)",
    ),
    "self overlap": (
        E,
        lambda t: set_cell(t[E], 2, "start_day", 80),
        "intervention",
        (2,),
        "overlaps an earlier episode of the same intervention for the same person",
    ),
    "after exit": (
        E,
        lambda t: set_cell(t[E], 2, "end_day", 201),
        "end_day",
        (2,),
        "after the person's exit_day",
    ),
    "exited without day": (
        P,
        lambda t: set_cell(t[P], 3, "exit_reason", "moved"),
        "exit_day",
        (3,),
        "null although exit_reason is not 'ongoing'",
    ),
    "ongoing with day": (
        P,
        lambda t: set_cell(t[P], 2, "exit_reason", "ongoing"),
        "exit_day",
        (2,),
        "set although exit_reason is 'ongoing'",
    ),
    "not offered": (
        E,
        lambda t: set_cell(t[E], 3, "intervention", "ips"),
        "intervention",
        (3,),
        "not offered in the person's region (got 'ips' in 'hbs'); if it is, add it to the "
        "region's offers in the catalogue YAML",
    ),
    "truth missing column": (T, lambda t: t[T].drop(columns="p_progress"), "p_progress", (), None),
    "truth p_progress": (
        T,
        lambda t: set_cell(t[T], [1, 2], "p_progress", [1.5, -0.1]),
        "p_progress",
        (1, 2),
        "outside 0..1",
    ),
    "truth null": (
        T,
        lambda t: set_cell(t[T].astype({"episode_no": "Int64"}), 0, "episode_no", pd.NA),
        "episode_no",
        (0,),
        "null",
    ),
    "truth intervention": (
        T,
        lambda t: set_cell(t[T], 3, "intervention", "yoga"),
        "intervention",
        (3,),
        "not in the catalogue (got 'yoga')",
    ),
    "truth unknown episode": (
        T,
        lambda t: set_cell(t[T], 2, "episode_no", 3),
        "episode_no",
        (2,),
        "with no such (person_id, episode_no) in episodes",
    ),
    "truth not offered": (
        T,
        lambda t: set_cell(t[T], 1, "intervention", "ips"),
        "intervention",
        (1,),
        "not offered in the person's region (got 'ips' in 'hbs')",
    ),
    "truth duplicate": (
        T,
        lambda t: with_row(t[T]),
        "intervention",
        (0, 4),
        "duplicate (person_id, episode_no, intervention)",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_rule_is_reported_alone_on_the_right_rows(case):
    table, mutate, column, rows, rule = CASES[case]
    tables = {P: make_persons(), E: make_episodes(), T: make_truth()}
    tables[table] = mutate(tables)
    v = only(check_tables(tables[P], tables[E], tables[T], CAT))
    assert (v.table, v.column, v.rows, v.n_rows) == (table, column, rows, len(rows))
    assert v.rule.startswith(rule or "missing column")
    if rows:
        noun = "row" if len(rows) == 1 else "rows"
        listed = ", ".join(map(str, rows))
        assert str(v) == f"{table}.{column}: {len(rows)} {noun} {v.rule} ({noun} {listed})"


def test_touching_episodes_of_one_intervention_do_not_overlap():
    assert check(episodes=set_cell(make_episodes(), 2, "start_day", 90)) == []


def test_wrong_dtype_still_reports_nulls_but_skips_value_checks():
    episodes = make_episodes().astype({"step_after": float})
    episodes.loc[[0, 5], "step_after"] = [np.nan, 99.0]
    assert [str(v) for v in check(episodes=episodes)] == [
        "episodes.step_after: wrong dtype: expected int, got float64",
        "episodes.step_after: 1 row null (row 0)",
    ]


def test_duplicate_column_names_are_reported():
    episodes = make_episodes()
    episodes = pd.concat([episodes, episodes[["hours"]]], axis=1)
    v = only(check(episodes=episodes))
    assert (v.table, v.column, v.rule) == (
        "episodes",
        "hours",
        "duplicate column (the first is checked)",
    )


def test_rows_are_positions_not_index_labels():
    episodes = set_cell(make_episodes(), 4, "step_after", 7).set_axis(range(100, 109))
    assert only(check(episodes=episodes)).rows == (4,)


def test_a_custom_catalogue_decides_what_is_offered():
    hbs = CAT.regions["hbs"]
    regions = {**CAT.regions, "hbs": dataclasses.replace(hbs, offers=(*hbs.offers, "ips"))}
    wider = dataclasses.replace(CAT, regions=regions)
    episodes = set_cell(make_episodes(), 3, "intervention", "ips")
    assert check(episodes=episodes, catalogue=wider) == []
    assert only(check(episodes=episodes)).column == "intervention"


def test_many_problems_are_all_collected():
    persons = make_persons().drop(columns="education").assign(notes=1)
    persons.loc[0, "age"] = 3
    episodes = make_episodes()
    episodes.loc[1, "intervention"] = "foo"
    episodes.loc[2, "end_day"] = 10
    truth = make_truth().assign(p_progress=2.0)
    found = {(v.table, v.column, v.rule.split(" (")[0]) for v in check(persons, episodes, truth)}
    assert found == {
        ("persons", "education", "missing column"),
        ("persons", "notes", "unexpected column"),
        ("persons", "age", "outside 16..67"),
        ("episodes", "intervention", "not in the catalogue"),
        ("episodes", "end_day", "before start_day"),
        ("truth", "p_progress", "outside 0..1"),
    }


def test_the_validator_does_not_modify_its_inputs():
    persons = make_persons().astype({"gender": "category"}).set_axis(list("wxyz"))
    persons.loc["x", "age"] = 3
    episodes = make_episodes().astype({"step_after": float}).drop(columns="hours")
    episodes.loc[[1, 2], "episode_no"] = [5, 5]
    truth = with_row(make_truth())
    before = [df.copy(deep=True) for df in (persons, episodes, truth)]
    assert check(persons, episodes, truth)
    for df, copy in zip((persons, episodes, truth), before, strict=True):
        pd.testing.assert_frame_equal(df, copy, check_exact=True)
        assert list(df.columns) == list(copy.columns)


# -------------------------------------------------------------------- property-based fuzzing

INT64 = st.integers(-(2**63), 2**63 - 1)


@FUZZ
@given(st.lists(INT64, min_size=9, max_size=9))
def test_step_after_is_flagged_exactly_outside_the_ladder(values):
    episodes = make_episodes().assign(step_after=np.array(values, dtype=np.int64))
    bad = tuple(i for i, x in enumerate(values) if not 0 <= x <= 5)
    found = check(episodes=episodes)
    if not bad:
        assert found == []
    else:
        v = only(found)
        assert (v.column, v.rule, v.rows, v.n_rows) == ("step_after", "outside 0..5", bad, len(bad))


@FUZZ
@given(st.lists(st.integers(-(2**40), 2**40), min_size=4, max_size=4))
def test_age_is_flagged_exactly_outside_16_to_67(ages):
    bad = tuple(i for i, a in enumerate(ages) if not 16 <= a <= 67)
    found = check(persons=make_persons().assign(age=ages))
    assert [v.rows for v in found] == ([bad] if bad else [])


@FUZZ
@given(st.data())
def test_categorical_values_outside_their_set_are_flagged(data):
    column = data.draw(st.sampled_from(sorted(CATEGORIES)))
    allowed = CATEGORIES[column]
    values = data.draw(
        st.lists(st.one_of(st.sampled_from(allowed), st.text(max_size=8)), min_size=4, max_size=4)
    )
    bad = [i for i, x in enumerate(values) if x not in allowed]
    found = check(persons=make_persons().assign(**{column: values}))
    if not bad:
        assert found == []
        return
    v = only(found)
    assert (v.column, v.rows) == (column, tuple(bad))
    assert v.rule.startswith(f"not one of {' | '.join(allowed)} (got {values[bad[0]]!r}")


@FUZZ
@given(st.lists(st.text(max_size=12), min_size=9, max_size=9))
def test_random_intervention_names_are_not_in_the_catalogue(names):
    episodes = make_episodes().assign(intervention=names)
    bad = tuple(i for i, x in enumerate(names) if x not in CAT.intervention_codes)
    schema = [v for v in check(episodes=episodes) if v.rule.startswith("not in the catalogue")]
    assert [v.rows for v in schema] == ([bad] if bad else [])


@FUZZ
@given(st.data())
def test_dropped_and_renamed_columns_are_reported(data):
    persons = make_persons()
    contract = [c for c in persons.columns if not c.startswith("x_")]
    dropped = data.draw(st.sets(st.sampled_from(contract), max_size=4))
    kept = [c for c in contract if c not in dropped]
    renamed_from = data.draw(st.sets(st.sampled_from(kept), max_size=3)) if kept else set()
    new_names = st.one_of(st.text(min_size=1, max_size=6), st.text(max_size=6).map("x_".__add__))
    targets = data.draw(
        st.lists(
            new_names.filter(lambda n: n not in persons.columns),
            min_size=len(renamed_from),
            max_size=len(renamed_from),
            unique=True,
        )
    )
    renames = dict(zip(sorted(renamed_from), targets, strict=True))
    broken = persons.drop(columns=list(dropped)).rename(columns=renames)

    found = {(v.column, v.rule) for v in check(persons=broken)}
    missing = {(c, "missing column") for c in dropped | renamed_from}
    extra_rule = "unexpected column (extra columns must start with x_)"
    unexpected = {(n, extra_rule) for n in renames.values() if not n.startswith("x_")}
    assert found == missing | unexpected


@FUZZ
@given(st.permutations(range(9)))
def test_shuffled_episode_rows_stay_valid(order):
    assert check(episodes=make_episodes().iloc[list(order)]) == []


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["p1", "p2", "p3"]), st.integers(1, 6)), max_size=12))
def test_episode_numbering_gaps_and_duplicates(rows):
    # zero-length episodes of one intervention on day 0: only the numbering can be wrong
    episodes = pd.DataFrame(
        {
            "person_id": pd.Series([p for p, _ in rows], dtype="str"),
            "episode_no": np.array([n for _, n in rows], dtype=np.int64),
            "intervention": "work_training_social_enterprise",
            "start_day": 0,
            "end_day": 0,
            "hours": 1.0,
            "step_before": 0,
            "step_after": 1,
        }
    )
    keys = list(rows)
    dup = tuple(i for i, k in enumerate(keys) if keys.count(k) > 1)
    numbers: dict[str, set[int]] = {}
    for p, n in rows:
        numbers.setdefault(p, set()).add(n)
    gappy = {p for p, ns in numbers.items() if ns != set(range(1, len(ns) + 1))}
    gap = tuple(i for i, (p, _) in enumerate(rows) if p in gappy)

    found = {v.rule: v.rows for v in check(episodes=episodes)}
    expected = {}
    if dup:
        expected["duplicated within a person"] = dup[:10]
    if gap:
        expected["of a person whose episode_no is not 1..n without gaps"] = gap[:10]
    assert found == expected


ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=6),
    st.sampled_from(["hbs", "ips", "p1", "ongoing", "woman"]),
)


@FUZZ
@given(st.data())
def test_arbitrary_cell_values_never_raise(data):
    tables = {P: make_persons(), E: make_episodes(), T: make_truth()}
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from([P, E, T]))
        df = tables[name]
        column = data.draw(st.sampled_from(list(df.columns)))
        values = data.draw(st.lists(ANYTHING, min_size=len(df), max_size=len(df)))
        tables[name] = df.assign(**{column: pd.Series(values, dtype=object)})
    found = check_tables(tables[P], tables[E], tables[T], CAT)
    assert all(isinstance(v, Violation) and "\n" not in str(v) for v in found)


# --------------------------------------------------------------------------------- reading


def write(folder, name, df, form):
    if form == "dir":
        (folder / name).mkdir()
        half = len(df) // 2
        df.iloc[:half].to_parquet(folder / name / "part-0.parquet")
        df.iloc[half:].to_parquet(folder / name / "part-1.parquet")
    elif form == "parquet":
        df.to_parquet(folder / f"{name}.parquet")
    else:
        df.to_csv(folder / f"{name}.csv", index=False)


@pytest.mark.parametrize("form", ["dir", "parquet", "csv"])
def test_read_table_and_check_folder(tmp_path, form):
    for name, df in (("persons", make_persons()), ("episodes", make_episodes())):
        write(tmp_path, name, df, form)
    episodes = read_table(tmp_path, "episodes")
    assert len(episodes) == 9
    assert list(episodes["person_id"]) == list(make_episodes()["person_id"])
    assert check_folder(tmp_path, CAT) == []

    write(tmp_path, "truth", make_truth().assign(p_progress=1.5), form)
    assert [(v.table, v.column) for v in check_folder(tmp_path, CAT)] == [("truth", "p_progress")]


def test_read_table_reads_a_file_directly_and_keeps_csv_ids_as_text(tmp_path):
    persons = make_persons().assign(person_id=["007", "1001", "3", "4"])
    persons.to_csv(tmp_path / "people.csv", index=False)
    back = read_table(tmp_path / "people.csv")
    assert list(back["person_id"]) == ["007", "1001", "3", "4"]
    assert back["exit_day"].dtype == "float64"  # blanks: accepted because the values are whole
    episodes = make_episodes().assign(person_id=np.repeat(["007", "1001", "3", "4"], [3, 2, 2, 2]))
    assert check_tables(back, episodes, catalogue=CAT) == []


def test_read_table_names_what_it_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        read_table(tmp_path, "episodes")
    message = str(caught.value)
    for candidate in ("episodes", "episodes.parquet", "episodes.csv"):
        assert str(tmp_path / candidate) in message


def test_a_column_of_only_nulls_is_named_not_crashed_on():
    """Found by hypothesis: a vocabulary column holding nothing but nulls."""
    from adapt.contract._cross_table import _vocabulary_index

    index = _vocabulary_index(pd.Series([None, None], dtype=object), ("a", "b"))
    assert index.tolist() == [-1, -1]
    assert _vocabulary_index(pd.Series(["b", None, "z"]), ("a", "b")).tolist() == [1, -1, -1]

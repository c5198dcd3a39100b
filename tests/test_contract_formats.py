"""Office exports: CSV with `;` or `,`, decimal commas, BOMs, Excel, booleans and display names,
read back equal to the tables they were written from; what cannot be read is one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapt.catalogue import load_catalogue
from adapt.cli import main
from adapt.contract import (
    TableReadError,
    check_tables,
    find_table,
    normalise_table,
    read_table,
    validate_tables,
)
from adapt.simulation import simulate

CAT = load_catalogue()
BOOLEANS = ("born_abroad", "mental_ill_health", "violence_exposure")


@pytest.fixture(scope="module")
def simulated():
    data = simulate(200, seed=1)
    return data["persons"], data["episodes"]


def office(persons, episodes, booleans="native", names="codes"):
    """The tables as an office keeps them: booleans and catalogue entries spelled its way."""
    persons, episodes = persons.copy(), episodes.copy()
    spelled = {"01": {True: 1, False: 0}, "truefalse": {True: "true", False: "false"}}
    spelled |= {"janej": {True: "Ja", False: "Nej"}, "sant": {True: "SANT", False: "FALSKT"}}
    if booleans in spelled:
        for column in BOOLEANS:
            persons[column] = persons[column].map(spelled[booleans])
    if names != "codes":
        persons["region"] = persons["region"].map({c: r.name for c, r in CAT.regions.items()})
        to_name = {c: i.name(names) for c, i in CAT.interventions.items()}
        episodes["intervention"] = episodes["intervention"].map(to_name)
    return persons, episodes


WRITERS = {
    "semicolon_decimal_comma_bom": lambda df, path: df.to_csv(
        path.with_suffix(".csv"), sep=";", decimal=",", encoding="utf-8-sig", index=False
    ),
    "plain_csv": lambda df, path: df.to_csv(path.with_suffix(".csv"), index=False),
    "tab_decimal_comma": lambda df, path: df.to_csv(
        path.with_suffix(".csv"), sep="\t", decimal=",", index=False
    ),
    "excel": lambda df, path: df.to_excel(path.with_suffix(".xlsx"), index=False),
}


def write_folder(folder, persons, episodes, writer):
    folder.mkdir(parents=True, exist_ok=True)
    WRITERS[writer](persons, folder / "persons")
    WRITERS[writer](episodes, folder / "episodes")
    return folder


def assert_round_trip(back: pd.DataFrame, original: pd.DataFrame):
    """Equal values; the dtypes the contract wants (exit_day with blanks may come back float)."""
    assert list(back.columns) == list(original.columns)
    for column in original.columns:
        got, want = back[column], original[column]
        if column == "exit_day":
            assert got.dtype.kind in "fi" or str(got.dtype) == "Int64"
            np.testing.assert_array_equal(
                got.to_numpy("float64", na_value=np.nan), want.to_numpy("float64", na_value=np.nan)
            )
        elif pd.api.types.is_bool_dtype(want.dtype):
            assert got.dtype == bool, column
            assert got.tolist() == want.tolist(), column
        elif pd.api.types.is_float_dtype(want.dtype):
            assert got.dtype == "float64", column
            np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), err_msg=column)
        elif pd.api.types.is_integer_dtype(want.dtype):
            assert pd.api.types.is_integer_dtype(got.dtype), column
            assert got.tolist() == want.tolist(), column
        else:
            assert pd.api.types.is_string_dtype(got.dtype), column
            assert got.tolist() == want.tolist(), column


CASES = [
    ("semicolon_decimal_comma_bom", "native", "codes"),
    ("semicolon_decimal_comma_bom", "01", "sv"),
    ("semicolon_decimal_comma_bom", "janej", "en"),
    ("plain_csv", "native", "codes"),
    ("plain_csv", "truefalse", "en"),
    ("plain_csv", "sant", "sv"),
    ("tab_decimal_comma", "truefalse", "sv"),
    ("excel", "native", "codes"),
    ("excel", "01", "sv"),
    ("excel", "truefalse", "en"),
]


@pytest.mark.parametrize(("writer", "booleans", "names"), CASES)
def test_office_exports_read_back_equal_and_valid(tmp_path, simulated, writer, booleans, names):
    persons, episodes = simulated
    folder = write_folder(tmp_path, *office(persons, episodes, booleans, names), writer)
    back_p, back_e = read_table(folder, "persons"), read_table(folder, "episodes")
    validate_tables(back_p, back_e, catalogue=CAT)
    assert_round_trip(back_p, persons)
    assert_round_trip(back_e, episodes)


def test_a_decimal_comma_is_detected_not_assumed(tmp_path, simulated):
    persons, _ = simulated
    persons.to_csv(tmp_path / "persons.csv", sep=";", index=False)  # ';' with decimal points
    back = read_table(tmp_path, "persons")
    assert back.attrs["adapt_source"]["decimal"] == "."
    np.testing.assert_allclose(back["years_on_support"], persons["years_on_support"])
    persons.to_csv(tmp_path / "persons.csv", sep=";", decimal=",", index=False)
    assert read_table(tmp_path, "persons").attrs["adapt_source"]["decimal"] == ","


def test_a_decimal_comma_far_down_the_file_is_found(tmp_path):
    lines = ["person_id;years_on_support"] + [f"p{i};{i % 7}" for i in range(800)] + ["p800;2,5"]
    (tmp_path / "people.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    back = read_table(tmp_path / "people.csv")
    assert back["years_on_support"].dtype == "float64"
    assert back["years_on_support"].iloc[-1] == 2.5


def test_find_table_finds_xlsx_after_parquet_and_csv(tmp_path, simulated):
    persons, _ = simulated
    assert find_table(tmp_path, "persons") is None
    persons.to_excel(tmp_path / "persons.xlsx", index=False)
    assert find_table(tmp_path, "persons") == tmp_path / "persons.xlsx"
    persons.to_csv(tmp_path / "persons.csv", index=False)
    assert find_table(tmp_path, "persons") == tmp_path / "persons.csv"


def test_a_workbook_sheet_named_after_the_table_is_read(tmp_path, simulated):
    persons, episodes = simulated
    with pd.ExcelWriter(tmp_path / "persons.xlsx") as book:
        episodes.to_excel(book, sheet_name="notes", index=False)
        persons.to_excel(book, sheet_name="persons", index=False)
    assert_round_trip(read_table(tmp_path, "persons"), persons)
    with pd.ExcelWriter(tmp_path / "persons.xlsx") as book:
        episodes.to_excel(book, sheet_name="a", index=False)
        persons.to_excel(book, sheet_name="b", index=False)
    with pytest.raises(TableReadError, match=r"^persons.xlsx: 2 sheets \(a, b\) and none is named"):
        read_table(tmp_path, "persons")


def test_names_are_matched_by_case_and_spacing_only():
    persons = pd.DataFrame(
        {"person_id": ["a", "b", "c"], "region": ["HBS", "  östra  södertörn", "hbs"]}
    )
    assert normalise_table(persons, "persons", CAT)["region"].tolist() == [
        "hbs",
        "ostra_sodertorn",
        "hbs",
    ]
    with pytest.raises(TableReadError) as caught:
        normalise_table(persons.assign(region=["hbs", "Ostra Sodertorn", "hbs"]), "persons", CAT)
    assert str(caught.value).endswith("or their names; did you mean 'ostra_sodertorn'?)")


def test_parquet_is_read_as_it_is(tmp_path, simulated):
    persons, _ = simulated
    named = persons.assign(
        region=persons["region"].map({c: r.name for c, r in CAT.regions.items()})
    )
    named.to_parquet(tmp_path / "persons.parquet")
    back = read_table(tmp_path, "persons")
    assert back["region"].tolist() == named["region"].tolist()  # names stay: the contract reports


def test_blank_booleans_stay_null_for_the_contract_to_report(tmp_path, simulated):
    persons, episodes = simulated
    persons = persons.astype({"born_abroad": object})
    persons.loc[3, "born_abroad"] = None
    persons.to_csv(tmp_path / "persons.csv", sep=";", index=False)
    back = read_table(tmp_path, "persons")
    assert str(back["born_abroad"].dtype) == "boolean" and back["born_abroad"].isna().sum() == 1
    (found,) = check_tables(back, episodes, catalogue=CAT)
    assert str(found).startswith("persons.born_abroad: 1 row null (row 3) at persons.csv line 5")


# ----------------------------------------------------------------------------- violations


def test_violations_name_the_file_line_and_person(tmp_path, simulated):
    persons, episodes = simulated
    persons = persons.copy()
    persons.loc[[2, 5], "age"] = 99
    ids = persons["person_id"]
    persons.to_csv(tmp_path / "persons.csv", sep=";", decimal=",", index=False)
    episodes.assign(step_after=episodes["step_after"].where(episodes.index != 4, 9)).to_excel(
        tmp_path / "episodes.xlsx", index=False
    )
    found = [str(v) for v in check_tables(*_read(tmp_path), catalogue=CAT)]
    assert found == [
        f"persons.age: 2 rows outside 16..67 (rows 2, 5) at persons.csv line 4 (person_id "
        f"{ids[2]!r}), line 7 (person_id {ids[5]!r})",
        f"episodes.step_after: 1 row outside 0..5 (row 4) at episodes.xlsx line 6 (person_id "
        f"{episodes['person_id'][4]!r})",
    ]
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert found[0] in result.output and found[1] in result.output


def test_lines_count_blank_lines_and_survive_sorting(tmp_path, simulated):
    persons, episodes = simulated
    text = persons.head(5).assign(age=[30, 30, 30, 99, 30]).to_csv(index=False).splitlines()
    text.insert(2, "")  # blank lines after the first person: pandas skips them, the file counts
    text.insert(3, "   ")
    (tmp_path / "persons.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    back = read_table(tmp_path, "persons")
    episodes = episodes[episodes["person_id"].isin(back["person_id"])]
    (found,) = check_tables(back, episodes, catalogue=CAT)
    assert "(row 3) at persons.csv line 7 " in str(found)
    flipped = back.iloc[::-1]  # rows keep their index labels, so their file lines
    (found,) = check_tables(flipped, episodes, catalogue=CAT)
    assert "(row 1) at persons.csv line 7 " in str(found)
    # re-indexed, the labels no longer point at the file: the person is named, no wrong line
    (found,) = check_tables(flipped.reset_index(drop=True), episodes, catalogue=CAT)
    assert str(found).endswith(f"(row 1) in persons.csv (person_id {back['person_id'][3]!r})")


def test_tables_not_read_from_files_keep_their_messages(simulated):
    persons, episodes = simulated
    found = check_tables(persons.assign(age=persons["age"].where(persons.index != 2, 99)), episodes)
    assert [str(v) for v in found] == ["persons.age: 1 row outside 16..67 (row 2)"]


# ---------------------------------------------------------------------------- bad files


def _read(folder):
    return read_table(folder, "persons"), read_table(folder, "episodes")


def _bad_files(folder, persons, episodes):
    """Each bad file, and the one line it must be refused with."""
    folder.mkdir()
    persons.to_csv(folder / "persons.csv", sep=";", index=False)
    episodes.to_csv(folder / "episodes.csv", sep=";", index=False)
    return folder


def _one_column(folder, persons, episodes):
    persons.to_csv(folder / "persons.csv", sep="|", index=False)
    return "persons.csv: one column found; is it separated by '|'? adapt reads ';', ',' or tab"


def _no_separator(folder, persons, episodes):
    persons[["person_id"]].to_csv(folder / "persons.csv", index=False)
    return "persons.csv: one column found; is it separated by ';'?"


def _wrong_boolean(folder, persons, episodes):
    persons = persons.astype({"born_abroad": object})
    persons.loc[12, "born_abroad"] = "kanske"
    persons.to_csv(folder / "persons.csv", sep=";", index=False)
    return (
        f"persons.csv: line 14 (person_id {persons['person_id'][12]!r}): born_abroad 'kanske' is "
        "not a boolean (write true/false, 1/0 or ja/nej)"
    )


def _unknown_region(folder, persons, episodes):
    persons = persons.astype({"region": object})
    persons.loc[7, "region"] = "Gotland"
    persons.to_csv(folder / "persons.csv", sep=";", index=False)
    allowed = " | ".join(CAT.region_codes)
    return (
        f"persons.csv: line 9 (person_id {persons['person_id'][7]!r}): region 'Gotland' is not a "
        f"region of the catalogue (allowed: {allowed} or their names)"
    )


def _misspelt_interventions(folder, persons, episodes):
    episodes = episodes.astype({"intervention": object})
    episodes.loc[[3, 8], "intervention"] = ["Hälsogruppen", "yoga"]
    episodes.to_excel(folder / "episodes.xlsx", index=False)
    (folder / "episodes.csv").unlink()
    ids = episodes["person_id"]
    return (
        f"episodes.xlsx: intervention: 2 values are not interventions of the catalogue: line 5 "
        f"(person_id {ids[3]!r}) 'Hälsogruppen' (did you mean 'Hälsogrupp'?), line 10 "
        f"(person_id {ids[8]!r}) 'yoga' (allowed: {' | '.join(CAT.intervention_codes)} or their "
        "names)"
    )


def _corrupt_xlsx(folder, persons, episodes):
    (folder / "episodes.csv").unlink()
    (folder / "episodes.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    return "episodes.xlsx: not an Excel workbook (.xlsx): not a zip archive"


def _not_utf8(folder, persons, episodes):
    text = persons.head(20).to_csv(sep=";", index=False).replace("hbs", "Hälsingland")
    (folder / "persons.csv").write_bytes(text.encode("cp1252"))
    first = next(i for i, line in enumerate(text.splitlines(), 1) if "Hälsingland" in line)
    return (
        f"persons.csv: line {first}: not UTF-8 text (byte 0xe4); save it as 'CSV UTF-8' "
        "(in Excel: Save as > CSV UTF-8)"
    )


def _ragged(folder, persons, episodes):
    lines = persons.head(10).to_csv(sep=";", index=False).splitlines()
    lines[6] += ";extra"
    (folder / "persons.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return (
        "persons.csv: line 7 has 15 fields but the header has 14; is a value holding the "
        "separator ';' unquoted?"
    )


BAD = [
    _one_column,
    _no_separator,
    _wrong_boolean,
    _unknown_region,
    _misspelt_interventions,
    _corrupt_xlsx,
    _not_utf8,
    _ragged,
]


@pytest.mark.parametrize("bad", BAD, ids=[b.__name__.strip("_") for b in BAD])
@pytest.mark.parametrize("command", ["validate", "train", "calibrate"])
def test_a_bad_file_is_refused_in_one_line_naming_it(tmp_path, simulated, bad, command):
    folder = _bad_files(tmp_path / "data", *simulated)
    expected = bad(folder, *simulated)
    args = {
        "validate": ["validate", str(folder)],
        "train": ["train", "--data", str(folder), "--out", str(tmp_path / "m"), "--n-bags", "2"],
        "calibrate": ["calibrate", str(folder)],
    }[command]
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)  # a refusal, not a crash
    assert result.output.splitlines() == [f"Error: {expected}"]


def test_train_runs_on_an_office_export(tmp_path, simulated):
    persons, episodes = simulated
    folder = tmp_path / "data"
    folder.mkdir()
    persons, episodes = office(persons, episodes, booleans="janej", names="sv")
    persons.to_csv(folder / "persons.csv", sep=";", decimal=",", encoding="utf-8-sig", index=False)
    episodes.to_excel(folder / "episodes.xlsx", index=False)
    validated = CliRunner().invoke(main, ["validate", str(folder)])
    assert validated.exit_code == 0, validated.output
    model = tmp_path / "model"
    trained = CliRunner().invoke(
        main, ["train", "--data", str(folder), "--out", str(model), "--n-bags", "2"]
    )
    assert trained.exit_code == 0, trained.output
    assert "trained the s-learner" in trained.output and model.exists()


# ------------------------------------------------------------------------------- property

SMALL = simulate(30, seed=5)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sep=st.sampled_from([";", ",", "\t"]),
    decimal=st.sampled_from([".", ","]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig"]),
    booleans=st.sampled_from(["native", "01", "truefalse", "janej", "sant"]),
    names=st.sampled_from(["codes", "sv", "en"]),
)
def test_any_office_csv_round_trips(tmp_path_factory, sep, decimal, encoding, booleans, names):
    if sep == "," and decimal == ",":
        decimal = "."  # no office writes that: every number would need quotes
    folder = tmp_path_factory.mktemp("office")
    persons, episodes = office(SMALL["persons"], SMALL["episodes"], booleans, names)
    for name, df in (("persons", persons), ("episodes", episodes)):
        df.to_csv(folder / f"{name}.csv", sep=sep, decimal=decimal, encoding=encoding, index=False)
    back_p, back_e = _read(folder)
    assert back_p.attrs["adapt_source"]["sep"] == sep
    assert check_tables(back_p, back_e, catalogue=CAT) == []
    assert_round_trip(back_p, SMALL["persons"])
    assert_round_trip(back_e, SMALL["episodes"])


def test_a_code_stays_itself_when_a_name_elsewhere_folds_onto_it():
    from importlib import resources

    import yaml

    from adapt.catalogue import parse_catalogue

    text = resources.files("adapt.catalogue").joinpath("catalogue.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    raw["regions"]["roslagen"]["name"] = "HBS"  # folds onto the code hbs: names neither
    catalogue = parse_catalogue(raw)
    persons = pd.DataFrame({"person_id": ["a", "b"], "region": ["hbs", "roslagen"]})
    assert normalise_table(persons, "persons", catalogue)["region"].tolist() == ["hbs", "roslagen"]
    with pytest.raises(TableReadError, match="region 'HBS' is not a region of the catalogue"):
        normalise_table(persons.assign(region=["HBS", "hbs"]), "persons", catalogue)

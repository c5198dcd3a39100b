"""Office exports: CSV and Excel files read as they come, and their spellings made explicit.

CSV: the separator (`;`, `,` or tab) is read off the header line, a decimal comma is detected
(with `;` or tab separators), UTF-8 with or without a BOM (and UTF-16 with its BOM) is decoded.
Excel: `.xlsx` through openpyxl, the sheet named after the table or the only sheet.

`normalise_table` turns the spellings an office writes into the contract's values: booleans written
true/false, 1/0, ja/nej, sant/falskt, yes/no; regions and interventions given by their display
names (Swedish or English, as the catalogue spells them, any letter case). What has no reading is
refused with `TableReadError`: one line naming the file, the line, the person and the cause.
Nothing is dropped and nothing is guessed.

Every table read from a file carries its origin in `df.attrs[SOURCE_KEY]`, so violations found
later can name the file's line (header = line 1) and the person instead of a row position.
"""

from __future__ import annotations

import csv
import difflib
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from adapt.catalogue import Catalogue
from adapt.contract._schemas import schema_for
from adapt.contract._violations import MAX_VALUES, Violation

SOURCE_KEY = "adapt_source"
TABLES = ("persons", "episodes", "truth")
SEPARATORS = (";", ",", "\t")
TEXT_SUFFIXES = (".csv",)
EXCEL_SUFFIXES = (".xlsx",)
# ids are labels: read them as text so '007' stays '007' and '1001' is not an int
ID_DTYPES = {"person_id": "str"}
# How an office writes a boolean, compared after strip() and casefold(). Swedish Excel shows
# TRUE/FALSE as SANT/FALSKT and writes them so into its CSV files.
BOOLEAN_SPELLINGS = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "ja": True,
    "nej": False,
    "sant": True,
    "falskt": False,
    "yes": True,
    "no": False,
}
BOOLEAN_HINT = "write true/false, 1/0 or ja/nej"
# The columns given as catalogue codes, and which catalogue entries they name.
CATALOGUE_COLUMNS = {
    "persons": {"region": "regions"},
    "episodes": {"intervention": "interventions"},
    "truth": {"intervention": "interventions"},
}
_DECIMAL_COMMA = re.compile(r"\s*[-+]?\d+,\d+\s*")
_INTEGER = re.compile(r"\s*[-+]?\d+\s*")
_PARSER_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


class TableReadError(ValueError):
    """A file that cannot be read as a contract table; the message is one line naming the file."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


# --------------------------------------------------------------------------------- reading


def read_file(path: Path, name: str | None = None) -> pd.DataFrame:
    """Read one table file or Parquet dataset folder, recording where it came from."""
    suffix = path.suffix.lower()
    if path.is_dir() or suffix in (".parquet", ".pq"):
        df, source = _read_parquet(path), {"format": "parquet"}
    elif suffix in TEXT_SUFFIXES:
        df, source = _read_csv(path)
    elif suffix in EXCEL_SUFFIXES:
        df, source = _read_xlsx(path, name)
    else:
        raise TableReadError(
            f"{path.name}: expected a Parquet dataset directory, a .parquet, .csv or .xlsx file"
        )
    # replaces whatever attrs a Parquet file carried: they may describe another file
    df.attrs = {SOURCE_KEY: {"path": str(path), "file": path.name, "n_rows": len(df), **source}}
    return df


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as error:
        raise TableReadError(f"{path.name}: not a readable Parquet file ({error})") from None


def _read_csv(path: Path) -> tuple[pd.DataFrame, dict]:
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    encoding = "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    header = next(
        (line for line in head.decode(encoding, errors="replace").splitlines() if line.strip()),
        None,
    )
    if header is None:
        raise TableReadError(f"{path.name}: the file is empty")
    counts = {sep: header.count(sep) for sep in SEPARATORS}
    sep = max(SEPARATORS, key=lambda s: counts[s])
    if counts[sep] == 0:
        raise TableReadError(f"{path.name}: one column found; {_separator_question(header)}")
    source = {"format": "csv", "sep": sep, "encoding": encoding, "decimal": "."}
    # decided on the first rows; a decimal comma showing only further down costs a re-read.
    # With ',' separating fields a decimal comma would need quotes everywhere: not looked for.
    if sep != "," and _comma_decimal_columns(_pandas_csv(path, source, nrows=500)):
        source["decimal"] = ","
    df = _pandas_csv(path, source)
    if source["decimal"] == "." and sep != "," and _comma_decimal_columns(df):
        source["decimal"] = ","
        df = _pandas_csv(path, source)
    return df, source


def _separator_question(header: str) -> str:
    """Ask about the separator the header seems to use, or the one offices use most."""
    marks = [c for c in header if not (c.isalnum() or c in "_\"' ")]
    if marks:
        guess = max(dict.fromkeys(marks), key=marks.count)
        return f"is it separated by {guess!r}? adapt reads ';', ',' or tab"
    return "is it separated by ';'?" if " " not in header.strip() else "is it separated by spaces?"


def _pandas_csv(path: Path, source: dict, nrows: int | None = None) -> pd.DataFrame:
    try:
        return pd.read_csv(
            path,
            sep=source["sep"],
            decimal=source["decimal"],
            encoding=source["encoding"],
            dtype=ID_DTYPES,
            nrows=nrows,
        )
    except UnicodeDecodeError:
        raise TableReadError(_not_utf8(path, source["encoding"])) from None
    except pd.errors.EmptyDataError:
        raise TableReadError(f"{path.name}: the file is empty") from None
    except pd.errors.ParserError as error:
        raise TableReadError(_ragged(path, source, error)) from None


def _not_utf8(path: Path, encoding: str) -> str:
    data = path.read_bytes()
    try:
        data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start : error.start + 1].hex()
        return (
            f"{path.name}: line {line}: not UTF-8 text (byte 0x{byte}); save it as "
            "'CSV UTF-8' (in Excel: Save as > CSV UTF-8)"
        )
    return f"{path.name}: not {encoding} text"


def _ragged(path: Path, source: dict, error: Exception) -> str:
    """Name the first line with more fields than the header, as the file counts lines."""
    with path.open(encoding=source["encoding"], newline="") as handle:
        reader = csv.reader(handle, delimiter=source["sep"])
        width, start = None, 1
        for record in reader:
            if record and width is None:
                width = len(record)
            elif record and len(record) > width:
                return (
                    f"{path.name}: line {start} has {len(record)} fields but the header has "
                    f"{width}; is a value holding the separator {source['sep']!r} unquoted?"
                )
            start = reader.line_num + 1
    found = _PARSER_LINE.search(str(error))
    if found:
        want, line, saw = found.groups()
        return f"{path.name}: line {line} has {saw} fields but the header has {want}"
    return f"{path.name}: cannot be read as CSV ({error})"


def _comma_decimal_columns(df: pd.DataFrame) -> list[str]:
    """Text columns whose every value reads as a number once a decimal comma is a point, with at
    least one decimal comma: the file writes decimal commas."""
    found = []
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            continue
        values = s.dropna()
        head = values.head(20)
        if values.empty or not all(
            isinstance(v, str) and (_DECIMAL_COMMA.fullmatch(v) or _INTEGER.fullmatch(v))
            for v in head
        ):
            continue  # cheap rejection of text columns before the full scan
        text = values.astype(str)
        if not text.str.contains(",", regex=False).any():
            continue
        as_numbers = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce")
        if as_numbers.notna().all():
            found.append(name)
    return found


def _read_xlsx(path: Path, name: str | None) -> tuple[pd.DataFrame, dict]:
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except ImportError:  # pragma: no cover - openpyxl is a core dependency
        raise TableReadError(f"{path.name}: reading Excel needs openpyxl") from None
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as error:
        cause = "not a zip archive" if isinstance(error, zipfile.BadZipFile) else error
        raise TableReadError(f"{path.name}: not an Excel workbook (.xlsx): {cause}") from None
    with book:
        sheets = [str(s) for s in book.sheet_names]
        if name in sheets:
            sheet = name
        elif len(sheets) == 1:
            sheet = sheets[0]
        else:
            raise TableReadError(
                f"{path.name}: {len(sheets)} sheets ({', '.join(sheets)}) and none is named "
                f"{name!r}; name the sheet {name!r} or keep only one"
            )
        try:
            df = pd.read_excel(book, sheet_name=sheet, dtype=ID_DTYPES)
        except (ValueError, KeyError) as error:
            raise TableReadError(f"{path.name}: sheet {sheet!r} cannot be read ({error})") from None
    return df, {"format": "xlsx", "sheet": sheet}


# ------------------------------------------------------------------------- where rows came from


def source_of(df: pd.DataFrame) -> dict | None:
    """Where `df` was read from (`read_table` records it in `df.attrs`), or None."""
    source = df.attrs.get(SOURCE_KEY) if isinstance(df.attrs, dict) else None
    if not isinstance(source, dict) or "file" not in source:
        return None
    return source


def _file_rows(df: pd.DataFrame, source: dict) -> np.ndarray | None:
    """The file row (0-based, header excluded) of each row of `df`, or None if unknown.

    `df`'s index labels are the positions read_table gave; they survive sorting and filtering.
    """
    index = df.index
    if not pd.api.types.is_integer_dtype(index.dtype) or len(index) == 0:
        return None
    labels = index.to_numpy()
    if labels.min() < 0 or labels.max() >= source.get("n_rows", 0):
        return None
    return labels


def file_lines(source: dict, rows) -> dict[int, tuple[int, str | None]]:
    """The file line (header = line 1) of each 0-based data row in `rows`, with the person_id
    the file has on that line (None where the file cannot say)."""
    rows = sorted({int(r) for r in rows})
    if not rows:
        return {}
    if source.get("format") == "xlsx":
        # pandas keeps a sheet's blank rows, as rows of nulls: row r is on line r + 2
        return {r: (r + 2, None) for r in rows}
    if source.get("format") != "csv":
        return {}
    # pandas skips blank lines and a quoted value may span lines: count records, as csv does
    found: dict[int, tuple[int, str | None]] = {}
    try:
        with open(source["path"], encoding=source["encoding"], newline="") as handle:
            reader = csv.reader(handle, delimiter=source["sep"])
            header, row, start, wanted = None, 0, 1, set(rows)
            for record in reader:
                if record and not (len(record) == 1 and not record[0].strip()):
                    if header is None:
                        header = record
                        id_at = header.index("person_id") if "person_id" in header else None
                    else:
                        if row in wanted:
                            person = (
                                record[id_at] if id_at is not None and id_at < len(record) else None
                            )
                            found[row] = (start, person)
                            if len(found) == len(wanted):
                                break
                        row += 1
                start = reader.line_num + 1
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}
    return found


def row_places(df: pd.DataFrame, positions) -> list[tuple[int | None, str | None]]:
    """(file line or None, person_id or None) of each row position of `df`.

    A line is named only where the file agrees: a CSV line must hold the row's person_id (a
    table re-indexed after reading loses its lines rather than naming wrong ones).
    """
    positions = [int(p) for p in positions]
    source = source_of(df)
    file_rows = _file_rows(df, source) if source else None
    lines = file_lines(source, file_rows[positions]) if file_rows is not None else {}
    ids = df["person_id"] if "person_id" in df.columns else None
    if isinstance(ids, pd.DataFrame):  # a duplicated column name: no single id
        ids = None
    out = []
    for p in positions:
        person = ids.iloc[p] if ids is not None else None
        person = person if isinstance(person, str) else None
        line, in_file = lines.get(int(file_rows[p]), (None, None)) if lines else (None, None)
        if in_file is not None and person is not None and in_file.strip() != person.strip():
            line = None
        out.append((line, person))
    return out


def _place(position: int, line: int | None, person: str | None) -> str:
    """`line 14 (person_id 'P13')`, or `row 12 (...)` where the file line is unknown."""
    text = f"line {line}" if line is not None else f"row {position}"
    return text + (f" (person_id {person!r})" if person is not None else "")


def locate_violations(
    violations: list[Violation], tables: dict[str, pd.DataFrame | None]
) -> list[Violation]:
    """Name the file, its lines and the persons in violations of tables read from a file."""
    places: dict[str, dict[int, tuple[int | None, str | None]]] = {}
    for table, df in tables.items():
        source = source_of(df) if isinstance(df, pd.DataFrame) else None
        if source is None:
            continue
        rows = sorted({r for v in violations if v.table == table for r in v.rows if r < len(df)})
        # one pass over the file for all of the table's violations
        places[table] = dict(zip(rows, row_places(df, rows), strict=True))
    out = []
    for v in violations:
        known = places.get(v.table, {})
        if not v.rows or not all(r in known for r in v.rows):
            out.append(v)
            continue
        file = source_of(tables[v.table])["file"]
        found = [known[r] for r in v.rows]
        if all(line is not None for line, _ in found):
            where = f"at {file} " + ", ".join(_place(0, line, person) for line, person in found)
        else:
            ids = [repr(person) for _, person in found if person is not None]
            where = f"in {file}" + (f" (person_id {', '.join(ids)})" if ids else "")
        if v.n_rows > len(v.rows):
            where += ", …"
        out.append(v.at(where))
    return out


# ----------------------------------------------------------------------------- normalisation


def normalise_table(
    table: pd.DataFrame,
    name: str,
    catalogue: Catalogue,
    source: str | None = None,
) -> pd.DataFrame:
    """`table` with office spellings turned into the contract's values; the rest untouched.

    Boolean columns written true/false, 1/0, ja/nej, sant/falskt or yes/no (any case) become
    bool (`boolean` if some are blank: the contract then reports the nulls). Region and
    intervention columns given by catalogue code or display name (any case) become codes.
    Anything else in those columns raises `TableReadError` naming `source` (default: the file
    the table was read from), each bad value's line, person and column; one line in all.
    """
    if name not in TABLES:
        raise ValueError(f"table name must be one of {TABLES}, got {name!r}")
    found = source_of(table)
    label = source or (found["file"] if found else name)
    changed: dict[str, pd.Series] = {}
    problems: list[str] = []
    for column in _boolean_columns(name, catalogue):
        if _single(table, column):
            values, bad = _booleans(table[column])
            changed[column] = values
            problems += _describe(table, column, bad, ("a boolean", "booleans"), BOOLEAN_HINT)
    for column, entries in CATALOGUE_COLUMNS[name].items():
        if _single(table, column):
            spellings = catalogue_names(catalogue, entries)
            exact = set(getattr(catalogue, entries))
            values, bad, hints = _codes(table[column], spellings, exact)
            changed[column] = values
            noun = entries[:-1]  # region, intervention
            article = "an" if noun[0] in "aeiou" else "a"
            allowed = f"allowed: {' | '.join(getattr(catalogue, entries))} or their names"
            nouns = (f"{article} {noun} of the catalogue", f"{entries} of the catalogue")
            problems += _describe(table, column, bad, nouns, allowed, hints)
    if problems:
        raise TableReadError(f"{label}: " + "; ".join(problems))
    out = table.assign(**changed) if changed else table
    out.attrs = dict(table.attrs)
    return out


def _single(table: pd.DataFrame, column: str) -> bool:
    # a duplicated column is the contract's to report
    return column in table.columns and isinstance(table[column], pd.Series)


def _boolean_columns(name: str, catalogue: Catalogue) -> list[str]:
    schema = schema_for(name, catalogue)
    return [
        column
        for column, spec in schema.columns.items()
        if not spec.regex and (spec.metadata or {}).get("kind") == "bool"
    ]


def _booleans(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """(the column as bool or boolean, positions of values with no boolean reading)."""
    if pd.api.types.is_bool_dtype(s.dtype) and not pd.api.types.is_object_dtype(s.dtype):
        return s, np.array([], dtype=np.int64)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    readings = [_boolean(v) for v in uniques]
    known = np.array([r is not None for r in readings] + [True])  # the last: nulls
    bad = np.flatnonzero(~known[codes])
    values = np.array([bool(r) for r in readings] + [False])[codes]
    nulls = codes < 0
    if nulls.any():
        out = pd.Series(pd.array(values, dtype="boolean"), index=s.index, name=s.name)
        out[nulls] = pd.NA
    else:
        out = pd.Series(values, index=s.index, name=s.name)
    return out, bad


def _boolean(value) -> bool | None:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        return BOOLEAN_SPELLINGS.get(value.strip().casefold())
    return None


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def catalogue_names(catalogue: Catalogue, entries: str) -> dict[str, tuple[str, str]]:
    """Every way the catalogue spells an entry (code, Swedish and English name, region name),
    keyed by its case- and space-folded form: (the code, the spelling as the catalogue writes
    it). A spelling shared by two entries is left out: it names neither."""
    spellings: dict[str, dict[str, str]] = {}
    for code, entry in getattr(catalogue, entries).items():
        names = [entry.name] if entries == "regions" else [entry.name("sv"), entry.name("en")]
        for text in [code, *names]:
            spellings.setdefault(_key(text), {})[code] = text
    return {
        key: next(iter(by_code.items())) for key, by_code in spellings.items() if len(by_code) == 1
    }


def _codes(
    s: pd.Series, spellings: dict[str, tuple[str, str]], exact: set[str]
) -> tuple[pd.Series, np.ndarray, dict[int, str]]:
    """(the column as codes, positions with no reading, a close spelling per bad position).

    A value in `exact` (the codes) is itself even where a name elsewhere folds to its spelling.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    mapped = [
        v if v in exact else spellings[_key(v)][0] if _spelled(v, spellings) else None
        for v in uniques
    ]
    known = np.array([m is not None for m in mapped] + [True])  # the last: nulls
    bad = np.flatnonzero(~known[codes])
    hints = {}
    for p in bad[:MAX_VALUES]:
        keys = difflib.get_close_matches(_key(str(s.iloc[p])), list(spellings), n=1, cutoff=0.6)
        if keys:
            hints[int(p)] = f"did you mean {spellings[keys[0]][1]!r}?"
    if bad.size or all(m == v for m, v in zip(mapped, uniques, strict=True)):
        return s, bad, hints  # already codes (or refused): the column as it is
    values = np.array([*mapped, None], dtype=object)[codes]
    dtype = s.dtype if isinstance(s.dtype, pd.StringDtype) else object
    return pd.Series(values, index=s.index, name=s.name, dtype=dtype), bad, hints


def _spelled(value, spellings: dict) -> bool:
    return isinstance(value, str) and _key(value) in spellings


def _describe(
    table: pd.DataFrame,
    column: str,
    bad: np.ndarray,
    nouns: tuple[str, str],
    hint: str,
    hints: dict[int, str] | None = None,
) -> list[str]:
    """One problem text for the bad positions of `column`: where, which person, what value."""
    if bad.size == 0:
        return []
    hints = hints or {}
    shown = [int(p) for p in bad[:MAX_VALUES]]
    places = [
        _place(p, line, person)
        for p, (line, person) in zip(shown, row_places(table, shown), strict=True)
    ]
    values = [_show(table[column].iloc[p]) for p in shown]
    if bad.size == 1:
        extra = f"; {hints[shown[0]]}" if shown[0] in hints else ""
        return [f"{places[0]}: {column} {values[0]} is not {nouns[0]} ({hint}{extra})"]
    items = [
        f"{place} {value}" + (f" ({hints[p]})" if p in hints else "")
        for p, place, value in zip(shown, places, values, strict=True)
    ]
    more = ", …" if bad.size > len(shown) else ""
    return [f"{column}: {bad.size} values are not {nouns[1]}: {', '.join(items)}{more} ({hint})"]


def _show(value) -> str:
    return repr(value.item() if isinstance(value, np.generic) else value)

"""Read contract tables from Parquet (a dataset directory or a file), CSV or Excel.

Parquet is typed and read as it is. CSV and Excel are office exports: their separator, decimal
mark and encoding are detected and their spellings of booleans, regions and interventions made
explicit by `normalise_table` (see `_formats`); what has no reading is refused in one line naming
the file. Nothing else is fixed: the contract reports the rest.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from adapt.catalogue import Catalogue, load_catalogue
from adapt.contract._formats import SOURCE_KEY, TABLES, normalise_table, read_file

# The forms a table may take in a folder, in the order they are tried.
SUFFIXES = (".parquet", ".csv", ".xlsx")


def candidates(folder: Path, name: str) -> list[Path]:
    """Where table `name` may live in `folder`, in the order they are tried."""
    return [folder / name, *(folder / f"{name}{suffix}" for suffix in SUFFIXES)]


def find_table(folder: str | Path, name: str) -> Path | None:
    """The first existing candidate for `name` in `folder`, or None."""
    return next((p for p in candidates(Path(folder), name) if p.exists()), None)


def read_table(
    folder_or_file: str | Path,
    name: str | None = None,
    catalogue: Catalogue | None = None,
) -> pd.DataFrame:
    """Read table `name` from a folder (`name/` Parquet dataset, `name.parquet`, `name.csv` or
    `name.xlsx`), or read `folder_or_file` itself when it is such a file.

    CSV and Excel tables named persons, episodes or truth (by `name` or, for a file, its stem)
    are normalised against `catalogue` (default: the built-in one). Unreadable files raise
    `TableReadError` (a ValueError) with one line naming the file and the cause.
    """
    path = Path(folder_or_file)
    if path.is_file():
        table = name or (path.stem if path.stem in TABLES else None)
        return _read(path, table, catalogue)
    if name is None:
        raise ValueError(f"{path} is not a file; give the table name to look for in it")
    found = find_table(path, name)
    if found is None:
        tried = ", ".join(str(p) for p in candidates(path, name))
        raise FileNotFoundError(f"no table {name!r} in {path}: looked for {tried}")
    return _read(found, name, catalogue)


def _read(path: Path, name: str | None, catalogue: Catalogue | None) -> pd.DataFrame:
    df = read_file(path, name)
    if df.attrs[SOURCE_KEY]["format"] in ("csv", "xlsx") and name in TABLES:
        df = normalise_table(df, name, catalogue or load_catalogue())
    return df

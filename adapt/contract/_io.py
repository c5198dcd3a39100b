"""Read contract tables from Parquet (a dataset directory or a file) or CSV, without fixing them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

# ids are labels: read them as text so '007' stays '007' and '1001' is not an int
_CSV_DTYPES = {"person_id": "str"}


def candidates(folder: Path, name: str) -> list[Path]:
    """Where table `name` may live in `folder`, in the order they are tried."""
    return [folder / name, folder / f"{name}.parquet", folder / f"{name}.csv"]


def find_table(folder: str | Path, name: str) -> Path | None:
    """The first existing candidate for `name` in `folder`, or None."""
    return next((p for p in candidates(Path(folder), name) if p.exists()), None)


def read_table(folder_or_file: str | Path, name: str | None = None) -> pd.DataFrame:
    """Read table `name` from a folder (`name/` Parquet dataset, `name.parquet` or `name.csv`),
    or read `folder_or_file` itself when it is a .parquet or .csv file."""
    path = Path(folder_or_file)
    if path.is_file():
        return _read(path)
    if name is None:
        raise ValueError(f"{path} is not a file; give the table name to look for in it")
    found = find_table(path, name)
    if found is None:
        tried = ", ".join(str(p) for p in candidates(path, name))
        raise FileNotFoundError(f"no table {name!r} in {path}: looked for {tried}")
    return _read(found)


def _read(path: Path) -> pd.DataFrame:
    if path.is_dir() or path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path, dtype=_CSV_DTYPES)
    raise ValueError(f"{path}: expected a Parquet dataset directory, a .parquet or a .csv file")

"""Writing results so that an interrupted write leaves the old result or none, never half."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports this module; keep its start free of pandas
    import pandas as pd

# The table files results are written as, by extension.
TABLE_SUFFIXES = (".parquet", ".csv")


def check_new(out: str | Path, overwrite: bool) -> Path:
    """`out` as a Path; refused when it exists and `overwrite` is false."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass --overwrite (overwrite=True) to replace it")
    return out


@contextmanager
def staged(out: str | Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a hidden sibling path of `out` to write into; on success it replaces `out` (a file
    or a folder), on failure it is removed and `out` stays as it was."""
    out = check_new(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}{out.suffix}"
    try:
        yield staging
        swap_into_place(staging, out)
    except BaseException:
        _remove(staging)
        raise


def swap_into_place(staging: Path, out: Path) -> None:
    """Rename `staging` to `out`; an old `out` is moved aside first, then removed."""
    if out.exists():
        retired = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, retired)
        os.replace(staging, out)
        _remove(retired)
    else:
        os.replace(staging, out)


def write_table(table: pd.DataFrame, out: str | Path, overwrite: bool = False) -> Path:
    """Write `table` as its extension says (.parquet or .csv), all or nothing."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ValueError(f"{out.name}: expected a .parquet or .csv file name, got {suffix!r}")
    with staged(out, overwrite) as staging:
        if suffix == ".parquet":
            table.to_parquet(staging, index=False)
        else:
            table.to_csv(staging, index=False)
    return out


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()

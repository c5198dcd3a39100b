"""The places there are: ``region,intervention,places``, checked against the catalogue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from adapt.catalogue import Catalogue

PLACES_COLUMNS = ("region", "intervention", "places")
# More places than this in one cell is a typing error, not a purchase
MAX_PLACES = 10_000_000


class PlacesError(ValueError):
    """A places table that cannot be used; the message names the file, line and value."""


def read_places(path: str | Path, catalogue: Catalogue) -> pd.DataFrame:
    """The places table at `path` (CSV or Parquet), checked by `check_places`.

    Every cell is read as written (CSV as text), so nothing is coerced before the checks; a
    line number counts the header as line 1.
    """
    path = Path(path)
    if not path.is_file():
        raise PlacesError(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".parquet":
            raw = pd.read_parquet(path)
        else:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except Exception as error:  # noqa: BLE001 - any reader failure becomes one line
        raise PlacesError(f"{path}: cannot be read as a places table ({error})") from None
    return check_places(raw, catalogue, source=str(path))


def check_places(raw: pd.DataFrame, catalogue: Catalogue, source: str = "places") -> pd.DataFrame:
    """`raw` as a clean places table: region and intervention codes of the catalogue, a whole
    number of places >= 0, each (region, intervention) once and offered there.

    Raises `PlacesError` naming `source`, the line and the value of the first problem (with
    how many more there are). Cells not listed have no places.
    """
    missing = [c for c in PLACES_COLUMNS if c not in raw.columns]
    if missing:
        raise PlacesError(
            f"{source}: missing column(s) {missing}; a places table has columns "
            f"{list(PLACES_COLUMNS)} (got {list(map(str, raw.columns))})"
        )
    extra = [str(c) for c in raw.columns if c not in PLACES_COLUMNS]
    if extra:
        raise PlacesError(
            f"{source}: unexpected column(s) {extra}; expected {list(PLACES_COLUMNS)}"
        )
    problems: list[str] = []
    regions, codes = set(catalogue.region_codes), set(catalogue.intervention_codes)
    seen: dict[tuple[str, str], int] = {}
    rows = []
    for offset, (region, code, places) in enumerate(
        raw[list(PLACES_COLUMNS)].itertuples(index=False)
    ):
        line = offset + 2
        where = f"{source} line {line}"
        region, code = _text(region), _text(code)
        if region not in regions:
            problems.append(f"{where}: region {region!r} is not in the catalogue")
            continue
        if code not in codes:
            problems.append(f"{where}: intervention {code!r} is not in the catalogue")
            continue
        if code not in catalogue.offered(region):
            problems.append(f"{where}: intervention {code!r} is not offered in region {region!r}")
            continue
        count = _whole_number(places)
        if count is None or count > MAX_PLACES:
            problems.append(
                f"{where}: places must be a whole number from 0 to {MAX_PLACES:,}, got {places!r}"
            )
            continue
        if (region, code) in seen:
            problems.append(
                f"{where}: region {region!r}, intervention {code!r} again (first on line "
                f"{seen[region, code]})"
            )
            continue
        seen[region, code] = line
        rows.append((region, code, count))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PlacesError(problems[0] + more)
    return pd.DataFrame(rows, columns=list(PLACES_COLUMNS)).astype({"places": np.int64})


def places_matrix(places: pd.DataFrame, catalogue: Catalogue) -> np.ndarray:
    """(regions, interventions) places in catalogue order; 0 where the table has no row."""
    out = np.zeros((len(catalogue.region_codes), len(catalogue.intervention_codes)), np.int64)
    region = pd.Index(catalogue.region_codes).get_indexer(places["region"])
    code = pd.Index(catalogue.intervention_codes).get_indexer(places["intervention"])
    out[region, code] = places["places"].to_numpy(np.int64)
    return out


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _whole_number(value) -> int | None:
    """`value` as an int when it is a whole number >= 0 written as one (``"3"``, 3, 3.0 in
    Parquet), else None: ``"2.5"``, ``"-1"``, ``""``, ``"three"`` and booleans are refused."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, str):
        text = value.strip()
        return int(text) if text.isdecimal() else None
    if isinstance(value, (int, np.integer)):
        return int(value) if value >= 0 else None
    if isinstance(value, (float, np.floating)) and np.isfinite(value):
        return int(value) if value >= 0 and value == int(value) else None
    return None

"""The data contract for `persons`, `episodes` and (simulated data only) `truth` tables.

`check_tables` lists every violation; `validate_tables` raises `ContractError` carrying them all.
Neither modifies, coerces or drops anything. See the "Data contract" section of domain.md.
`read_table` reads Parquet, CSV and Excel; office exports' spellings are made explicit by
`normalise_table`, and a file that cannot be read raises `TableReadError` (docs/data.md).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from adapt.catalogue import Catalogue, load_catalogue
from adapt.contract._chunks import (
    CHUNK_PERSONS,
    by_person_chunks,
    map_person_chunks,
    person_chunks,
)
from adapt.contract._cross_table import _Table, check_episodes, check_persons, check_truth
from adapt.contract._formats import TableReadError, locate_violations, normalise_table
from adapt.contract._io import find_table, read_table
from adapt.contract._schemas import (
    EDUCATION,
    EXIT_REASONS,
    GENDERS,
    INCOME_SOURCES,
    REFERRAL_SOURCES,
    SWEDISH_LEVELS,
    check_schema,
    schema_for,
)
from adapt.contract._violations import ContractError, Violation

# Raised whenever a table's columns, types or rules change: a model records the version it was
# trained under and refuses to serve under another.
CONTRACT_VERSION = "1"
# The episodes table's columns, in the contract's order.
EPISODE_COLUMNS = (
    "person_id",
    "episode_no",
    "intervention",
    "start_day",
    "end_day",
    "hours",
    "step_before",
    "step_after",
)
# The allowed values of each categorical column, for the modules downstream of the contract.
LEVELS = {
    "gender": GENDERS,
    "income_source": INCOME_SOURCES,
    "referral_source": REFERRAL_SOURCES,
    "education": EDUCATION,
    "swedish_level": SWEDISH_LEVELS,
    "exit_reason": EXIT_REASONS,
}

__all__ = [
    "CHUNK_PERSONS",
    "CONTRACT_VERSION",
    "EPISODE_COLUMNS",
    "EXIT_REASONS",
    "GENDERS",
    "LEVELS",
    "ContractError",
    "TableReadError",
    "Violation",
    "by_person_chunks",
    "check_folder",
    "check_tables",
    "find_table",
    "normalise_table",
    "map_person_chunks",
    "person_chunks",
    "read_table",
    "validate_tables",
]


def check_tables(
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    truth: pd.DataFrame | None = None,
    catalogue: Catalogue | None = None,
) -> list[Violation]:
    """Every contract violation in the tables, [] if valid; bad data never raises.

    Violations of a table read by `read_table` also name its file, the lines (header = line 1)
    and the persons of the rows they list.
    """
    catalogue = catalogue or load_catalogue()
    tables = {"persons": persons, "episodes": episodes, "truth": truth}
    violations: list[Violation] = []
    checked: dict[str, _Table] = {}
    for name, df in tables.items():
        if df is None:
            checked[name] = _Table(name, None, set())
            continue
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
        found, usable = check_schema(name, df, schema_for(name, catalogue))
        violations += found
        checked[name] = _Table(name, df, usable)

    violations += check_persons(checked["persons"])
    violations += check_episodes(checked["episodes"], checked["persons"], catalogue)
    if truth is not None:
        violations += check_truth(
            checked["truth"], checked["episodes"], checked["persons"], catalogue
        )
    return locate_violations(_in_table_order(violations), tables)


def validate_tables(
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    truth: pd.DataFrame | None = None,
    catalogue: Catalogue | None = None,
) -> None:
    """Raise `ContractError` listing every violation if the tables break the contract."""
    violations = check_tables(persons, episodes, truth, catalogue)
    if violations:
        raise ContractError(violations)


def check_folder(path: str | Path, catalogue: Catalogue | None = None) -> list[Violation]:
    """Read persons, episodes and (if present) truth from `path` and check them."""
    catalogue = catalogue or load_catalogue()
    persons = read_table(path, "persons", catalogue)
    episodes = read_table(path, "episodes", catalogue)
    truth = read_table(path, "truth", catalogue) if find_table(path, "truth") else None
    return check_tables(persons, episodes, truth, catalogue)


def _in_table_order(violations: list[Violation]) -> list[Violation]:
    # persons first, then episodes, then truth; within a table, schema problems before cross rules
    rank = {"persons": 0, "episodes": 1, "truth": 2}
    return sorted(violations, key=lambda v: rank[v.table])

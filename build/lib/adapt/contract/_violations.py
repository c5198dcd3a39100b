"""Violations of the data contract and how they read."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

MAX_ROWS = 10  # row positions kept per violation; enough to find the problem, small to print
MAX_VALUES = 3  # bad values quoted per violation


@dataclass(frozen=True)
class Violation:
    """One broken rule: which table and column, what is wrong, how many rows and the first few."""

    table: str
    column: str
    rule: str
    n_rows: int = 0  # 0 for whole-column problems (missing column, wrong dtype)
    rows: tuple[int, ...] = ()  # first <= 10 offending 0-based row positions, ascending
    # for a table read from a file: "at persons.csv line 4 (person_id 'p3'), …"
    located: str = field(default="", compare=False)

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}"
        if self.n_rows == 0:
            return f"{where}: {self.rule}"
        noun = "row" if self.n_rows == 1 else "rows"
        shown = ", ".join(str(r) for r in self.rows)
        more = ", …" if self.n_rows > len(self.rows) else ""
        text = f"{where}: {self.n_rows} {noun} {self.rule} ({noun} {shown}{more})"
        return f"{text} {self.located}" if self.located else text

    def at(self, located: str) -> Violation:
        """This violation, naming where its rows are in the file they came from."""
        return replace(self, located=located)


class ContractError(ValueError):
    """Tables that break the data contract; `.violations` lists every broken rule."""

    def __init__(self, violations: list[Violation]):
        self.violations = list(violations)
        n = len(self.violations)
        header = f"data contract violated: {n} violation{'s' if n != 1 else ''}"
        super().__init__("\n".join([header, *(f"  {v}" for v in self.violations)]))


def quote_values(values) -> str:
    """`'a', 'b', 'c', …`: the first few distinct values, as the user would type them."""
    distinct = list(dict.fromkeys(values))
    text = ", ".join(repr(_plain(v)) for v in distinct[:MAX_VALUES])
    return text + (", …" if len(distinct) > MAX_VALUES else "")


def _plain(value):
    # numpy scalars repr as np.int64(3); users wrote 3
    return value.item() if isinstance(value, np.generic) else value


def from_positions(table: str, column: str, rule: str, positions) -> Violation | None:
    """A violation for the rows at `positions`, or None if there are none."""
    positions = np.unique(np.asarray(positions, dtype=np.int64))
    if positions.size == 0:
        return None
    return Violation(table, column, rule, int(positions.size), tuple(positions[:MAX_ROWS].tolist()))


def from_failure_cases(
    table: str, failure_cases: pd.DataFrame, order: list[str]
) -> list[Violation]:
    """Translate pandera's lazy failure cases into violations, one per column and check.

    Check error texts may hold `{values}`, filled with the first few bad values. The frame was
    validated with a 0..n-1 index, so pandera's index labels are row positions.
    """
    out: list[Violation] = []
    rank = {name: i for i, name in enumerate(order)}
    for case in failure_cases[failure_cases["schema_context"] == "DataFrameSchema"].itertuples():
        name = str(case.failure_case)
        if case.check == "column_in_dataframe":
            out.append(Violation(table, name, "missing column"))
        elif case.check == "column_in_schema":
            rule = "unexpected column (extra columns must start with x_)"
            out.append(Violation(table, name, rule))
        else:
            out.append(Violation(table, str(case.column), f"{case.check}: {name}"))

    cols = failure_cases[failure_cases["schema_context"] != "DataFrameSchema"]
    groups = cols.groupby(["column", "check"], sort=False, dropna=False)
    keyed = sorted(groups, key=lambda g: (rank.get(g[0][0], len(rank)), _null_first(g[0][1])))
    for (column, check), cases in keyed:
        rule = "null" if check == "not_nullable" else str(check)
        if "{values}" in rule:
            rule = rule.format(values=quote_values(cases["failure_case"]))
        index = pd.to_numeric(cases["index"], errors="coerce").dropna()
        violation = from_positions(table, str(column), rule, index.to_numpy())
        out.append(violation or Violation(table, str(column), rule))
    return out


def _null_first(check: str) -> int:
    return 0 if check == "not_nullable" else 1

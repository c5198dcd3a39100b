"""Rules across rows and tables that pandera cannot express, vectorised with numpy and pandas.

Each rule runs only on columns that are present with an acceptable dtype (`usable`) and skips rows
with nulls in the columns it needs: those problems are already reported by the schema check.
Strings are factorised to integer codes once and compared as codes; converting 500k Arrow strings
to Python objects would cost more than all the rules together.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.catalogue import Catalogue
from adapt.contract._violations import MAX_VALUES, Violation, from_positions, quote_values


class _Table:
    """A table with the names of its usable columns; hands out null-free columns."""

    def __init__(self, name: str, df: pd.DataFrame | None, usable: set[str]):
        self.name, self.df, self.usable = name, df, usable

    def take(self, *columns: str) -> dict | None:
        """`columns` over the rows where none is null, plus `_pos`, their row positions.

        Numbers come back as float64 arrays (exact for any realistic day or count), strings as
        Series with a 0..n-1 index. None if a column is unusable.
        """
        if self.df is None or not set(columns) <= self.usable:
            return None
        series = [self.df[c] for c in columns]
        notna = np.logical_and.reduce([s.notna().to_numpy() for s in series])
        pos = np.flatnonzero(notna)
        out: dict = {"_pos": pos}
        for name, s in zip(columns, series, strict=True):
            if _is_number(s):
                out[name] = s.to_numpy(dtype="float64", na_value=np.nan)[pos]
            else:
                out[name] = (s if pos.size == len(s) else s.iloc[pos]).reset_index(drop=True)
        return out


def _is_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _first_match(keys: pd.Series, ids: pd.Series) -> np.ndarray:
    """For each key, the position in `ids` of its first occurrence; -1 if absent."""
    codes, uniques = pd.factorize(pd.concat([ids, keys], ignore_index=True))
    id_codes = codes[: len(ids)]
    first = ~pd.Series(id_codes).duplicated().to_numpy()
    lookup = np.full(len(uniques), -1, dtype=np.int64)
    lookup[id_codes[first]] = np.flatnonzero(first)
    return lookup[codes[len(ids) :]]


def _vocabulary_index(values: pd.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    """Position of each value in `vocabulary`; -1 if absent or null."""
    codes, uniques = pd.factorize(values)
    where = pd.Index(vocabulary).get_indexer(pd.Index(uniques, dtype=object))
    out = np.full(len(codes), -1, dtype=np.int64)
    known = codes >= 0  # with only nulls there is nothing to look up (and `where` is empty)
    out[known] = where[codes[known]]
    return out


def _combine(*codes: np.ndarray) -> np.ndarray:
    """One int64 code per distinct tuple of codes; refactorised each step so it cannot overflow."""
    key = np.asarray(codes[0], dtype=np.int64)
    for more in codes[1:]:
        more = np.asarray(more, dtype=np.int64)
        key = pd.factorize(key * (int(more.max(initial=0)) + 1) + more)[0].astype(np.int64)
    return key


def _gather(values: np.ndarray, at: np.ndarray, fill) -> np.ndarray:
    """values[at], with `fill` where `at` is -1."""
    out = np.full(at.shape, fill, dtype=np.result_type(values.dtype, np.min_scalar_type(fill)))
    found = at >= 0
    out[found] = values[at[found]]
    return out


class _People:
    """Look up each row's person (first row wins if an id is duplicated) and their attributes."""

    def __init__(self, persons: _Table):
        self.persons = persons
        self.cols = persons.take("person_id")

    @property
    def ok(self) -> bool:
        return self.cols is not None

    def rows_of(self, person_ids: pd.Series) -> np.ndarray:
        """Row position in persons of each id, -1 if absent."""
        found = _first_match(person_ids, self.cols["person_id"])
        return _gather(self.cols["_pos"], found, -1)

    def exit_day(self, rows: np.ndarray) -> np.ndarray | None:
        if "exit_day" not in self.persons.usable:
            return None
        days = self.persons.df["exit_day"].to_numpy(dtype="float64", na_value=np.nan)
        return _gather(days, rows, np.nan)

    def region_index(self, rows: np.ndarray, catalogue: Catalogue) -> np.ndarray | None:
        """Catalogue position of each row's person's region; -1 if unknown."""
        if "region" not in self.persons.usable:
            return None
        index = _vocabulary_index(self.persons.df["region"], catalogue.region_codes)
        return _gather(index, rows, -1)


def check_persons(persons: _Table) -> list[Violation]:
    found: list[Violation | None] = []
    if (cols := persons.take("person_id")) is not None:
        dup = cols["person_id"].duplicated(keep=False).to_numpy()
        rule = f"duplicate person_id (got {quote_values(cols['person_id'][dup])})"
        found.append(from_positions("persons", "person_id", rule, cols["_pos"][dup]))
    if {"exit_day", "exit_reason"} <= persons.usable:
        no_day = persons.df["exit_day"].isna().to_numpy()
        reason = persons.df["exit_reason"]
        known = reason.notna().to_numpy()
        ongoing = (reason == "ongoing").to_numpy(dtype=bool, na_value=False)
        rule = "null although exit_reason is not 'ongoing'"
        found.append(
            from_positions("persons", "exit_day", rule, np.flatnonzero(no_day & known & ~ongoing))
        )
        rule = "set although exit_reason is 'ongoing'"
        found.append(from_positions("persons", "exit_day", rule, np.flatnonzero(~no_day & ongoing)))
    return [v for v in found if v is not None]


def check_episodes(episodes: _Table, persons: _Table, catalogue: Catalogue) -> list[Violation]:
    people = _People(persons)
    found: list[Violation | None] = []
    t = "episodes"

    if people.ok and (cols := episodes.take("person_id")) is not None:
        orphan = people.rows_of(cols["person_id"]) < 0
        rule = f"with a person_id not in persons (got {quote_values(cols['person_id'][orphan])})"
        found.append(from_positions(t, "person_id", rule, cols["_pos"][orphan]))

    if (cols := episodes.take("person_id", "episode_no")) is not None:
        found += _episode_numbering(cols)

    if (cols := episodes.take("start_day", "end_day")) is not None:
        early = cols["end_day"] < cols["start_day"]
        found.append(from_positions(t, "end_day", "before start_day", cols["_pos"][early]))

    if (cols := episodes.take("person_id", "episode_no", "start_day")) is not None:
        person = pd.factorize(cols["person_id"])[0]
        order = np.lexsort((cols["episode_no"], person))  # stable: ties keep row order
        same = person[order][1:] == person[order][:-1]
        start = cols["start_day"][order]
        back = same & (start[1:] < start[:-1])
        rule = "earlier than the previous episode's start_day (by episode_no)"
        found.append(from_positions(t, "start_day", rule, cols["_pos"][order][1:][back]))

    if (cols := episodes.take("person_id", "intervention", "start_day", "end_day")) is not None:
        found.append(_self_overlap(cols))

    if people.ok and (cols := episodes.take("person_id", "end_day")) is not None:
        exit_day = people.exit_day(people.rows_of(cols["person_id"]))
        if exit_day is not None:
            late = cols["end_day"] > exit_day  # False where exit_day is NaN (still ongoing)
            rule = "after the person's exit_day"
            found.append(from_positions(t, "end_day", rule, cols["_pos"][late]))

    if people.ok and (cols := episodes.take("person_id", "intervention")) is not None:
        found.append(_not_offered(t, cols, people, catalogue))
    return [v for v in found if v is not None]


def check_truth(
    truth: _Table, episodes: _Table, persons: _Table, catalogue: Catalogue
) -> list[Violation]:
    people = _People(persons)
    found: list[Violation | None] = []
    t = "truth"

    ep = episodes.take("person_id", "episode_no")
    if ep is not None and (cols := truth.take("person_id", "episode_no")) is not None:
        n = len(ep["_pos"])
        person = pd.factorize(pd.concat([ep["person_id"], cols["person_id"]], ignore_index=True))[0]
        number = pd.factorize(np.concatenate([ep["episode_no"], cols["episode_no"]]))[0]
        key = _combine(person, number)
        missing = ~np.isin(key[n:], key[:n])
        rule = "with no such (person_id, episode_no) in episodes"
        found.append(from_positions(t, "episode_no", rule, cols["_pos"][missing]))

    if people.ok and (cols := truth.take("person_id", "intervention")) is not None:
        found.append(_not_offered(t, cols, people, catalogue))

    if (cols := truth.take("person_id", "episode_no", "intervention")) is not None:
        key = _combine(
            *(pd.factorize(cols[c])[0] for c in ("person_id", "episode_no", "intervention"))
        )
        dup = pd.Series(key).duplicated(keep=False).to_numpy()
        rule = "duplicate (person_id, episode_no, intervention)"
        found.append(from_positions(t, "intervention", rule, cols["_pos"][dup]))
    return [v for v in found if v is not None]


def _episode_numbering(cols: dict) -> list[Violation | None]:
    """episode_no must be exactly 1..n per person: no duplicates, no gaps."""
    frame = pd.DataFrame({"p": pd.factorize(cols["person_id"])[0], "e": cols["episode_no"]})
    dup = frame.duplicated(keep=False).to_numpy()
    stats = frame.drop_duplicates().groupby("p")["e"].agg(["min", "max", "size"])
    # the distinct numbers are 1..n exactly when the smallest is 1 and the largest is their count
    gappy = stats.index[(stats["min"] != 1) | (stats["max"] != stats["size"])]
    gap = frame["p"].isin(gappy).to_numpy()
    return [
        from_positions("episodes", "episode_no", "duplicated within a person", cols["_pos"][dup]),
        from_positions(
            "episodes",
            "episode_no",
            "of a person whose episode_no is not 1..n without gaps",
            cols["_pos"][gap],
        ),
    ]


def _self_overlap(cols: dict) -> Violation | None:
    """An episode may not start before an earlier episode of the same intervention has ended.

    Touching (start == the earlier end) is allowed: a renewed referral often starts on the day the
    previous one closed. The later episode of each overlapping pair is reported.
    """
    key = _combine(pd.factorize(cols["person_id"])[0], pd.factorize(cols["intervention"])[0])
    order = np.lexsort((cols["end_day"], cols["start_day"], key))
    key, start, end = key[order], cols["start_day"][order], cols["end_day"][order]
    # the latest end among the earlier episodes of the same pair, carried forward
    reach = pd.Series(end).groupby(key).cummax().to_numpy()
    clash = (key[1:] == key[:-1]) & (start[1:] < reach[:-1])
    rule = "overlaps an earlier episode of the same intervention for the same person"
    return from_positions("episodes", "intervention", rule, cols["_pos"][order][1:][clash])


def _offer_matrix(catalogue: Catalogue) -> np.ndarray:
    """(region, intervention) -> offered, in catalogue order."""
    return np.array(
        [
            np.isin(catalogue.intervention_codes, catalogue.offered(r))
            for r in catalogue.region_codes
        ]
    )


def _not_offered(table: str, cols: dict, people: _People, catalogue: Catalogue) -> Violation | None:
    r = people.region_index(people.rows_of(cols["person_id"]), catalogue)
    if r is None:
        return None
    i = _vocabulary_index(cols["intervention"], catalogue.intervention_codes)
    # unknown regions and interventions are the schema's to report, not this rule's
    known = (r >= 0) & (i >= 0)
    offered = _offer_matrix(catalogue)[np.maximum(r, 0), np.maximum(i, 0)]
    bad = known & ~offered
    regions, interventions = catalogue.region_codes, catalogue.intervention_codes
    pairs = dict.fromkeys(zip(i[bad].tolist(), r[bad].tolist(), strict=True))
    got = ", ".join(f"{interventions[a]!r} in {regions[b]!r}" for a, b in list(pairs)[:MAX_VALUES])
    got += ", …" if len(pairs) > MAX_VALUES else ""
    rule = (
        f"not offered in the person's region (got {got}); if it is, add it to the region's "
        "offers in the catalogue YAML"
    )
    return from_positions(table, "intervention", rule, cols["_pos"][bad])

"""The next decision's features for one person, computed in plain Python.

`next_decision_points` answers for a table of persons through pandas, which costs tens of
milliseconds even for one person; a live request needs one row at once. `next_decision_values`
gives the same row as a dict (categories as their labels). Both must agree value for value: the
test suite compares them on simulated histories, cut anywhere, with any day and step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from adapt.catalogue import Catalogue, load_catalogue
from adapt.features._decision_points import (
    CATEGORIES,
    FLAGS,
    HISTORIES,
    NO_PREVIOUS,
    NUMERIC,
    SENSITIVE,
)
from adapt.features._ordered import LAGS, NONE


def next_decision_values(
    person: Mapping,
    episodes: Sequence[Mapping],
    catalogue: Catalogue | None = None,
    include_sensitive: bool = True,
    history: str = "summary",
    current_step: int | None = None,
    day: int | None = None,
) -> dict:
    """Features of the decision after `episodes` (one person's, in order) as ``{column: value}``.

    Arguments mean what they mean for `next_decision_points`; the inputs must already be valid
    (the recommender validates them). Categorical columns hold their label (``None`` when
    missing), the others a float (NaN when undefined).
    """
    if history not in HISTORIES:
        raise ValueError(f"history must be one of {HISTORIES}, got {history!r}")
    catalogue = catalogue or load_catalogue()
    codes = catalogue.intervention_codes
    n = len(episodes)
    last = episodes[-1] if n else None
    step = current_step if current_step is not None else (last["step_after"] if n else 0)
    decision_day = float(day if day is not None else (last["end_day"] if n else 0))

    row = _covariates(person, include_sensitive)
    counts = dict.fromkeys(codes, 0.0)
    hours = dict.fromkeys(codes, 0.0)
    for episode in episodes:
        code = episode["intervention"]
        counts[code] += 1.0
        # hours of an episode still running on the decision day are not known yet
        if episode["end_day"] <= decision_day:
            hours[code] += float(episode["hours"])
    for code in codes:
        row[f"n_{code}"] = counts[code]
    for code in codes:
        row[f"hours_{code}"] = hours[code]
    first_step = episodes[0]["step_before"] if n else step
    row["n_previous"] = float(n)
    row["current_step"] = float(step)
    row["steps_gained"] = float(step - first_step)
    row["steps_back"] = float(sum(e["step_after"] < e["step_before"] for e in episodes))
    row["days_since_entry"] = decision_day
    row["days_in_previous"] = decision_day - last["start_day"] if n else math.nan
    row["previous_intervention"] = last["intervention"] if n else NO_PREVIOUS
    if history == "ordered":
        row.update(_ordered(episodes, decision_day, catalogue))
    return row


def _covariates(person: Mapping, include_sensitive: bool) -> dict:
    row = {"region": person["region"]}
    for column in CATEGORIES:
        row[column] = person[column]
    for column in NUMERIC:
        row[column] = float(person[column])
    for column in FLAGS:
        row[column] = float(bool(person[column]))
    for column, value in person.items():
        if column.startswith("x_"):
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            row[column] = float(value) if numeric else value
    if not include_sensitive:
        for column in SENSITIVE:
            row.pop(column)
    return row


def _ordered(episodes: Sequence[Mapping], decision_day: float, catalogue: Catalogue) -> dict:
    n = len(episodes)
    family_of = {c: i.family for c, i in catalogue.interventions.items()}
    out = {}
    for lag in range(2, LAGS + 1):
        out[f"last_{lag}"] = episodes[n - lag]["intervention"] if n >= lag else NONE
    family_1 = family_of[episodes[-1]["intervention"]] if n >= 1 else NONE
    family_2 = family_of[episodes[-2]["intervention"]] if n >= 2 else NONE
    out["family_1"], out["family_2"] = family_1, family_2
    out["families_last_two"] = f"{family_2}>{family_1}"
    change = [float(e["step_after"] - e["step_before"]) for e in episodes]
    out["change_1"] = change[-1] if n >= 1 else math.nan
    out["change_2"] = change[-2] if n >= 2 else math.nan
    last_change = _last(change, lambda c: c != 0)
    if last_change is None:
        out["episodes_at_step"] = float(n)
        since, after = 0.0, -1
    else:
        out["episodes_at_step"] = float(n - last_change - 1)
        since, after = float(episodes[last_change]["end_day"]), last_change
    out["days_at_step"] = max(decision_day - since, 0.0)
    out["hours_at_step"] = float(
        sum(
            float(e["hours"])
            for i, e in enumerate(episodes)
            if i > after and e["end_day"] <= decision_day
        )
    )
    for name, mark in (("gain", lambda c: c > 0), ("back", lambda c: c < 0)):
        found = _last(change, mark)
        out[f"episodes_since_{name}"] = math.nan if found is None else float(n - found)
    return out


def _last(values: list, mark) -> int | None:
    for i in range(len(values) - 1, -1, -1):
        if mark(values[i]):
            return i
    return None

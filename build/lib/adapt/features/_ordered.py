"""The ordered history: what came last, in which order, and how long a person has stood still.

Counts and hours say *what* a person has done; these columns say *in which order*: the last
interventions one by one, their families as a pair, the step changes they brought, and the time,
episodes and hours spent on the current step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.catalogue import Catalogue
from adapt.features._rows import earlier_rows

NONE = "none"
LAGS = 3  # the last three interventions, one column each


def ordered_columns() -> list[str]:
    lags = [f"last_{lag}" for lag in range(2, LAGS + 1)]
    return [
        *lags,
        "family_1",
        "family_2",
        "families_last_two",
        "change_1",
        "change_2",
        "episodes_at_step",
        "days_at_step",
        "hours_at_step",
        "episodes_since_gain",
        "episodes_since_back",
    ]


def ordered_history(ep: pd.DataFrame, decision_day: np.ndarray, catalogue: Catalogue):
    """One row per episode of `ep` (sorted by person and episode_no): its ordered history.

    `decision_day` is the day each row's decision was taken (the previous episode's end). The
    last intervention itself is the `previous_intervention` column of `decision_points`.
    """
    codes = list(catalogue.intervention_codes)
    families = list(catalogue.families())
    family_of = {c: catalogue.interventions[c].family for c in codes}
    by_person = ep.groupby("person_id", sort=False)
    out = pd.DataFrame(index=ep.index)

    for lag in range(2, LAGS + 1):
        out[f"last_{lag}"] = _categorical(by_person["intervention"].shift(lag), codes)
    family = ep["intervention"].map(family_of)
    by_person_family = family.groupby(ep["person_id"].to_numpy(), sort=False)
    family_1 = by_person_family.shift(1).fillna(NONE)
    family_2 = by_person_family.shift(2).fillna(NONE)
    out["family_1"] = pd.Categorical(family_1, categories=[NONE, *families])
    out["family_2"] = pd.Categorical(family_2, categories=[NONE, *families])
    pairs = [f"{a}>{b}" for a in [NONE, *families] for b in [NONE, *families]]
    out["families_last_two"] = pd.Categorical(family_2 + ">" + family_1, categories=pairs)

    change = (ep["step_after"] - ep["step_before"]).astype(float)
    by_person_change = change.groupby(ep["person_id"].to_numpy(), sort=False)
    out["change_1"] = by_person_change.shift(1).to_numpy()
    out["change_2"] = by_person_change.shift(2).to_numpy()

    row = np.arange(len(ep), dtype=float)
    first_row = _first_row_of_person(ep)
    last_change = _last_earlier_row(ep, change.to_numpy() != 0)
    changed = ~np.isnan(last_change)
    out["episodes_at_step"] = np.where(changed, row - last_change - 1, row - first_row)
    end = ep["end_day"].to_numpy(float)
    since = np.where(changed, end[np.nan_to_num(last_change).astype(np.int64)], 0.0)
    out["days_at_step"] = np.maximum(decision_day - since, 0.0)
    out["hours_at_step"] = _hours_since(
        ep, np.where(changed, last_change, first_row - 1), decision_day
    )
    for name, mark in (("gain", change.to_numpy() > 0), ("back", change.to_numpy() < 0)):
        out[f"episodes_since_{name}"] = row - _last_earlier_row(ep, mark)
    return out.reset_index(drop=True)


def _categorical(values: pd.Series, codes: list[str]) -> pd.Categorical:
    return pd.Categorical(
        values.astype("object").where(values.notna(), NONE), categories=[NONE, *codes]
    )


def _first_row_of_person(ep: pd.DataFrame) -> np.ndarray:
    person = ep["person_id"].to_numpy()
    starts = np.r_[True, person[1:] != person[:-1]]
    return np.maximum.accumulate(np.where(starts, np.arange(len(ep)), 0)).astype(float)


def _last_earlier_row(ep: pd.DataFrame, mark: np.ndarray) -> np.ndarray:
    """Per row, the index of the person's latest earlier row where `mark` holds (NaN if none)."""
    marked = pd.Series(np.where(mark, np.arange(len(ep), dtype=float), np.nan))
    return (
        marked.groupby(ep["person_id"].to_numpy(), sort=False)
        .shift(1)
        .groupby(ep["person_id"].to_numpy(), sort=False)
        .ffill()
        .to_numpy()
    )


def _hours_since(ep: pd.DataFrame, after_row: np.ndarray, decision_day: np.ndarray) -> np.ndarray:
    """Hours of the person's earlier rows after `after_row` that had ended by the decision day."""
    end = ep["end_day"].to_numpy(float)
    hours = ep["hours"].to_numpy(float)
    out = np.zeros(len(ep))
    for row, earlier in earlier_rows(ep):
        counted = (earlier > after_row[row]) & (end[earlier] <= decision_day[row])
        np.add.at(out, row[counted], hours[earlier[counted]])
    return out

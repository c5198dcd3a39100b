"""One row per decision point: what was known just before an episode started."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapt.catalogue import Catalogue, load_catalogue
from adapt.contract import LEVELS
from adapt.features._ordered import ordered_history
from adapt.features._rows import earlier_rows

KEYS = ("person_id", "episode_no")
CATEGORIES = {
    c: LEVELS[c]
    for c in ("gender", "income_source", "referral_source", "education", "swedish_level")
}
NUMERIC = ("age", "years_on_support")
FLAGS = ("born_abroad", "mental_ill_health", "violence_exposure")
SENSITIVE = ("gender", "violence_exposure")
NO_PREVIOUS = "none"
HISTORIES = ("summary", "ordered")
# An optional episodes column that sets a row's decision day (the next decision of a live person
# is taken today, which may be later than the last episode's end); see `next_decision_points`.
DECISION_DAY = "_decision_day"


@dataclass
class DecisionPoints:
    """Features, the intervention chosen and whether it progressed, one row per decision point.

    Attributes
    ----------
    keys : DataFrame
        person_id and episode_no of each row.
    features : DataFrame
        What was known before the decision: covariates at entry (and any ``x_`` columns), the
        region, time since entry, current step and a summary of the history so far.
    treatment : Series
        The intervention that was chosen (catalogue code).
    outcome : Series
        1 if the episode progressed (step_after > step_before), else 0.
    """

    keys: pd.DataFrame
    features: pd.DataFrame
    treatment: pd.Series
    outcome: pd.Series

    def __len__(self) -> int:
        return len(self.keys)

    def take(self, rows) -> DecisionPoints:
        rows = np.asarray(rows)
        return DecisionPoints(
            *(
                part.iloc[rows].reset_index(drop=True)
                for part in (self.keys, self.features, self.treatment, self.outcome)
            )
        )


def history_columns(catalogue: Catalogue) -> list[str]:
    codes = catalogue.intervention_codes
    return [f"n_{c}" for c in codes] + [f"hours_{c}" for c in codes]


def decision_points(
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    catalogue: Catalogue | None = None,
    include_sensitive: bool = True,
    history: str = "summary",
) -> DecisionPoints:
    """Build one row per episode from the contract's two tables, using only the past.

    A row for episode n uses the person's covariates at entry and what was known of episodes
    1..n-1 on the decision day, the day episode n-1 ended (0 at entry): nothing of episode n but
    the step it starts from, which episode n-1 left.
    `history` is ``"summary"`` (counts, hours, the previous intervention) or ``"ordered"``
    (those and the order: the last interventions one by one, their step changes, the time,
    episodes and hours on the current step).
    Validate the tables with `adapt.contract.validate_tables` first.
    """
    if history not in HISTORIES:
        raise ValueError(f"history must be one of {HISTORIES}, got {history!r}")
    catalogue = catalogue or load_catalogue()
    codes = list(catalogue.intervention_codes)
    ep = episodes.sort_values(list(KEYS), kind="stable").reset_index(drop=True)
    person = ep["person_id"].to_numpy()
    first_of_person = np.r_[True, person[1:] != person[:-1]]

    treatment = pd.Categorical(ep["intervention"], categories=codes)
    one_hot = np.zeros((len(ep), len(codes)))
    one_hot[np.arange(len(ep)), treatment.codes] = 1.0
    hours = one_hot * ep["hours"].to_numpy(float)[:, None]
    group = ep["person_id"]
    counts_before = _cumulative_before(one_hot, group)

    step_before = ep["step_before"].to_numpy(np.int64)
    step_after = ep["step_after"].to_numpy(np.int64)
    back = (step_after < step_before).astype(float)
    first_step = pd.Series(step_before).groupby(group.to_numpy()).transform("first").to_numpy()
    previous = pd.Series(treatment).groupby(group.to_numpy()).shift(1)
    by_person = ep.groupby("person_id", sort=False)
    previous_start = by_person["start_day"].shift(1).to_numpy(float)
    # The decision is taken when the previous episode ends (at entry: day 0). Never the decided
    # episode's own start: only coordination may start before the previous episode ends, so its
    # start day would reveal the choice.
    decision_day = np.where(first_of_person, 0.0, by_person["end_day"].shift(1).to_numpy(float))
    if DECISION_DAY in ep:
        given = ep[DECISION_DAY].to_numpy(float)
        decision_day = np.where(np.isnan(given), decision_day, given)
    # Hours of an earlier episode still running on the decision day are not known yet.
    hours_before = _cumulative_before(hours, group) - _hours_running_at(ep, hours, decision_day)

    past = pd.DataFrame(
        np.hstack([counts_before, hours_before]), columns=history_columns(catalogue)
    )
    past["n_previous"] = ep["episode_no"].to_numpy(np.int64) - 1
    past["current_step"] = step_before
    past["steps_gained"] = step_before - first_step
    past["steps_back"] = _cumulative_before(back[:, None], group)[:, 0]
    past["days_since_entry"] = decision_day
    past["days_in_previous"] = np.where(first_of_person, np.nan, decision_day - previous_start)
    past["previous_intervention"] = pd.Categorical(
        previous.astype("object").where(previous.notna(), NO_PREVIOUS),
        categories=[NO_PREVIOUS, *codes],
    )
    if history == "ordered":
        past = pd.concat([past, ordered_history(ep, decision_day, catalogue)], axis=1)

    entry = _entry_covariates(persons, catalogue, include_sensitive)
    position = pd.Index(entry["person_id"]).get_indexer(ep["person_id"])
    if (position < 0).any():
        missing = ep.loc[position < 0, "person_id"].unique()[:5].tolist()
        raise ValueError(f"episodes name persons that the persons table lacks: {missing}")
    covariates = entry.drop(columns="person_id").iloc[position].reset_index(drop=True)
    features = pd.concat([covariates, past], axis=1)
    outcome = pd.Series((step_after > step_before).astype(np.int64), name="progressed")
    keys = ep[list(KEYS)].copy()
    return DecisionPoints(keys, features, pd.Series(treatment, name="intervention"), outcome)


def _cumulative_before(values: np.ndarray, group: pd.Series) -> np.ndarray:
    """Per-person running totals of earlier rows only (the row itself excluded)."""
    running = pd.DataFrame(values).groupby(group.to_numpy(), sort=False).cumsum().to_numpy()
    return running - values


def _hours_running_at(ep: pd.DataFrame, hours: np.ndarray, decision_day: np.ndarray) -> np.ndarray:
    """Per row, the hours of the person's earlier episodes that had not ended by its decision day.

    Episodes overlap rarely and briefly (coordination beside one other episode), so comparing
    each row with the few rows before it of the same person is enough.
    """
    end = ep["end_day"].to_numpy(float)
    out = np.zeros_like(hours)
    for row, earlier in earlier_rows(ep):
        running = end[earlier] > decision_day[row]
        np.add.at(out, row[running], hours[earlier[running]])
    return out


def _entry_covariates(
    persons: pd.DataFrame, catalogue: Catalogue, include_sensitive: bool
) -> pd.DataFrame:
    out = pd.DataFrame({"person_id": persons["person_id"].to_numpy()})
    out["region"] = pd.Categorical(persons["region"], categories=list(catalogue.region_codes))
    for column, levels in CATEGORIES.items():
        out[column] = pd.Categorical(persons[column], categories=list(levels))
    for column in NUMERIC:
        out[column] = persons[column].to_numpy(float)
    for column in FLAGS:
        out[column] = persons[column].to_numpy(bool).astype(float)
    for column in persons.columns:
        if column.startswith("x_"):
            values = persons[column]
            out[column] = (
                values.to_numpy(float)
                if pd.api.types.is_numeric_dtype(values)
                else pd.Categorical(values)
            )
    if not include_sensitive:
        out = out.drop(columns=list(SENSITIVE))
    return out

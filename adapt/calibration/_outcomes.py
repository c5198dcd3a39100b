"""One row per person with the outcomes calibration targets speak of."""

from __future__ import annotations

import pandas as pd

from adapt.catalogue import Catalogue, load_catalogue

DAYS_PER_MONTH = 30.44
PROGRESS_EXITS = ("work", "studies", "work_preparatory")
WORK_TRAINING = ("work_training_social_enterprise", "work_training_employer")


def person_outcomes(
    persons: pd.DataFrame, episodes: pd.DataFrame, catalogue: Catalogue | None = None
) -> pd.DataFrame:
    """The persons table plus derived columns.

    Derived: ``ended``, ``progressed`` (ended to work, studies or an ordinary programme),
    ``work_or_studies``, ``work_preparatory``, ``months_enrolled`` (ended persons),
    ``total_hours``, ``n_episodes``, ``had_<intervention>`` for every catalogue intervention and
    ``had_work_training`` (either kind).
    """
    catalogue = catalogue or load_catalogue()
    out = persons.copy()
    reason = out["exit_reason"]
    out["ended"] = reason != "ongoing"
    out["progressed"] = reason.isin(PROGRESS_EXITS)
    out["work_or_studies"] = reason.isin(("work", "studies"))
    out["work_preparatory"] = reason == "work_preparatory"
    out["months_enrolled"] = out["exit_day"].astype("float64") / DAYS_PER_MONTH

    person = episodes["person_id"]
    had = (
        pd.crosstab(person, episodes["intervention"]).reindex(
            index=out["person_id"], columns=list(catalogue.intervention_codes), fill_value=0
        )
        > 0
    )
    for code in catalogue.intervention_codes:
        out[f"had_{code}"] = had[code].to_numpy()
    out["had_work_training"] = had[[c for c in WORK_TRAINING if c in had]].any(axis=1).to_numpy()
    totals = episodes.groupby(person)["hours"].agg(["sum", "size"]).reindex(out["person_id"])
    out["total_hours"] = totals["sum"].fillna(0.0).to_numpy()
    out["n_episodes"] = totals["size"].fillna(0).astype("int64").to_numpy()
    return out

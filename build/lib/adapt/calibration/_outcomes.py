"""One row per person with the outcomes calibration targets speak of."""

from __future__ import annotations

import numpy as np
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

    codes = list(catalogue.intervention_codes)
    person = pd.Index(out["person_id"]).get_indexer(episodes["person_id"])
    arm = pd.Categorical(episodes["intervention"], categories=codes).codes
    known = (person >= 0) & (arm >= 0)
    had = np.zeros((len(out), len(codes)), bool)
    had[person[known], arm[known]] = True
    for j, code in enumerate(codes):
        out[f"had_{code}"] = had[:, j]
    work_training = [codes.index(c) for c in WORK_TRAINING if c in codes]
    out["had_work_training"] = had[:, work_training].any(axis=1)
    hours = episodes["hours"].to_numpy(float)
    out["total_hours"] = np.bincount(person[person >= 0], hours[person >= 0], len(out))
    out["n_episodes"] = np.bincount(person[person >= 0], minlength=len(out))
    return out

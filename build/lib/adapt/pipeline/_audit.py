"""The gender audit of a learner's choices on held-out persons, as the champion's gate."""

from __future__ import annotations

import numpy as np

from adapt.fairness import AuditResult, audit_choices
from adapt.features import DecisionPoints
from adapt.pipeline._data import ExperimentData


def audit_held_out(
    learner,
    points: DecisionPoints,
    choices,
    data: ExperimentData,
    thresholds: dict | None = None,
    seed: int = 0,
) -> AuditResult:
    """`adapt.fairness.audit_choices` of `choices` (one per row of `points`, the held-out
    decision points) with the learner's estimates and, on simulated data, the truth."""
    held_out = data.persons["person_id"].isin(points.keys["person_id"])
    persons = data.persons[held_out]
    episodes = data.episodes[data.episodes["person_id"].isin(persons["person_id"])]
    recommendations = points.keys.assign(recommended=np.asarray(choices, dtype=object))
    return audit_choices(
        persons,
        episodes,
        recommendations,
        thresholds,
        catalogue=getattr(learner, "catalogue", None),
        seed=seed,
        model=learner,
        truth=data.truth,
    )

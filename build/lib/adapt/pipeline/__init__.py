"""The stages an experiment composes: its data, a split by person, and the evaluation.

:func:`simulated_data` and :func:`folder_data` give :class:`ExperimentData` with a fingerprint of
what produced it; :func:`split_persons` keeps each person's history on one side;
:func:`evaluate_recommender` scores a fitted learner's recommendations on held-out persons,
:func:`audit_held_out` runs the gender audit that gates the champion; :func:`evaluate_plans`
judges the learner's k-step plans against the truth of a world simulated in the run.
:func:`evaluate_allocation` allocates the places caseworkers used among held-out persons and
judges it (against the truth when simulated).
:func:`make_model` makes a learner by name or ``auto``; :func:`fitted_learner` is what an auto
fit chose.
"""

from adapt.pipeline._allocation import AllocationEvaluation, evaluate_allocation, recorded_places
from adapt.pipeline._audit import audit_held_out
from adapt.pipeline._data import ExperimentData, folder_data, simulated_data, split_persons
from adapt.pipeline._evaluate import Evaluation, evaluate_recommender
from adapt.pipeline._learner import (
    AUTO,
    fitted_learner,
    for_learner,
    make_model,
    selection_table,
)
from adapt.pipeline._planning import PlanEvaluation, evaluate_plans, planning_skip_reason

__all__ = [
    "AUTO",
    "AllocationEvaluation",
    "evaluate_allocation",
    "recorded_places",
    "fitted_learner",
    "for_learner",
    "make_model",
    "selection_table",
    "Evaluation",
    "audit_held_out",
    "ExperimentData",
    "evaluate_plans",
    "evaluate_recommender",
    "folder_data",
    "PlanEvaluation",
    "planning_skip_reason",
    "simulated_data",
    "split_persons",
]

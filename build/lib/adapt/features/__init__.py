"""Features at decision points: what was known just before each episode started."""

from adapt.features._decision_points import (
    KEYS,
    SENSITIVE,
    DecisionPoints,
    decision_points,
    history_columns,
)
from adapt.features._for_model import (
    decision_points_for,
    feature_settings,
    next_decision_points_for,
)
from adapt.features._next_decision import next_decision_points
from adapt.features._ordered import ordered_columns
from adapt.features._person import next_decision_values

__all__ = [
    "KEYS",
    "SENSITIVE",
    "DecisionPoints",
    "decision_points",
    "decision_points_for",
    "feature_settings",
    "history_columns",
    "next_decision_points",
    "next_decision_points_for",
    "next_decision_values",
    "ordered_columns",
]

"""Features at decision points: what was known just before each episode started."""

from adapt.features._decision_points import (
    KEYS,
    SENSITIVE,
    DecisionPoints,
    decision_points,
    history_columns,
)

__all__ = ["KEYS", "SENSITIVE", "DecisionPoints", "decision_points", "history_columns"]

"""Policies: from estimated probabilities to a recommended next intervention."""

from adapt.policies._greedy import choose_best
from adapt.policies._recommend import recommend_for_decisions

__all__ = ["choose_best", "recommend_for_decisions"]

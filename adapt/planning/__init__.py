"""Planning: the next k interventions of a person, in order, with a fitted learner."""

from adapt.planning._planner import MAX_K, OBJECTIVES, Planner, Plans
from adapt.planning._transitions import StepTransitions

__all__ = ["MAX_K", "OBJECTIVES", "Planner", "Plans", "StepTransitions"]

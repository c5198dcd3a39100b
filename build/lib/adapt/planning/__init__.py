"""Planning: the next k interventions of a person, in order, with a fitted learner; and scarce
places allocated by the value they have to each person; the demand for places the plans
make, region by region and month by month."""

from adapt.planning._allocate import Allocation, allocate
from adapt.planning._demand import Demand, demand
from adapt.planning._demand_report import write_demand
from adapt.planning._planner import MAX_K, OBJECTIVES, Planner, Plans
from adapt.planning._transitions import StepTransitions

__all__ = [
    "MAX_K",
    "OBJECTIVES",
    "Allocation",
    "Demand",
    "Planner",
    "Plans",
    "StepTransitions",
    "allocate",
    "demand",
    "write_demand",
]

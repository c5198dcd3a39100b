"""Allocation: scarce places given to the persons who gain most from them, and what one more
place of each kind is worth."""

from adapt.allocation._places import (
    PLACES_COLUMNS,
    PlacesError,
    check_places,
    places_matrix,
    read_places,
)
from adapt.allocation._transport import WAITS, Solution, best_allocation, first_come

__all__ = [
    "PLACES_COLUMNS",
    "WAITS",
    "PlacesError",
    "Solution",
    "best_allocation",
    "check_places",
    "first_come",
    "places_matrix",
    "read_places",
]

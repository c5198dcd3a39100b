"""The intervention catalogue, the regions that offer each intervention and the step ladder."""

from adapt.catalogue._catalogue import (
    Catalogue,
    CatalogueError,
    Intervention,
    Region,
    Step,
    load_catalogue,
    parse_catalogue,
)

__all__ = [
    "Catalogue",
    "CatalogueError",
    "Intervention",
    "Region",
    "Step",
    "load_catalogue",
    "parse_catalogue",
]

"""Calibration: compare a population with published figures, target by target."""

from adapt.calibration._outcomes import person_outcomes
from adapt.calibration._report import calibration_report, format_report, measure
from adapt.calibration._seeds import calibration_over_seeds, format_seed_summary, summarise_seeds
from adapt.calibration._targets import Target, available_target_sets, load_targets

__all__ = [
    "Target",
    "available_target_sets",
    "calibration_over_seeds",
    "calibration_report",
    "format_report",
    "format_seed_summary",
    "load_targets",
    "measure",
    "person_outcomes",
    "summarise_seeds",
]

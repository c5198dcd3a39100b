"""Calibration: compare a population with published figures, target by target."""

from adapt.calibration._outcomes import person_outcomes
from adapt.calibration._report import calibration_report, format_report, measure
from adapt.calibration._targets import Target, available_target_sets, load_targets

__all__ = [
    "Target",
    "available_target_sets",
    "calibration_report",
    "format_report",
    "load_targets",
    "measure",
    "person_outcomes",
]

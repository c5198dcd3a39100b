"""The audit's thresholds: defaults in ``thresholds.yaml``, overridden from a YAML file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

RATIOS = ("similar_rate_ratio", "similar_benefit_ratio")
COUNTS = ("min_recommended", "min_group_size", "n_bootstrap")
THRESHOLDS = (*RATIOS, "calibration_gap", *COUNTS, "level")


def load_thresholds(path: str | Path | None = None) -> dict:
    """The audit's thresholds: the defaults (``adapt/fairness/thresholds.yaml``), overridden by
    the YAML file at `path`. Unknown names and values out of range are refused."""
    text = resources.files("adapt.fairness").joinpath("thresholds.yaml").read_text("utf-8")
    thresholds = yaml.safe_load(text)
    if path is not None:
        given = yaml.safe_load(Path(path).read_text("utf-8")) or {}
        if not isinstance(given, dict):
            raise ValueError(f"{path}: expected a mapping of thresholds")
        unknown = sorted(set(given) - set(THRESHOLDS))
        if unknown:
            raise ValueError(f"{path}: unknown thresholds {unknown}; known: {list(THRESHOLDS)}")
        thresholds.update(given)

    def number(name: str, ok, expected: str) -> None:
        value = thresholds[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok(value):
            raise ValueError(f"{name} must be {expected}, got {value!r}")

    for name in RATIOS:
        number(name, lambda v: 0 < v <= 1, "a number in (0, 1]")
    number("calibration_gap", lambda v: v > 0, "a positive number")
    number("level", lambda v: 0 < v < 1, "strictly between 0 and 1")
    for name in COUNTS:
        value = thresholds[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return thresholds

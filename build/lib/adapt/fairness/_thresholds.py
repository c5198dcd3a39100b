"""The audit's thresholds: defaults in ``thresholds.yaml``, overridden from a YAML file."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from adapt._strict import STRICT, problems

_RATIO = "a number in (0, 1]"
_COUNT = "a positive integer"


class Thresholds(BaseModel):
    """The thresholds ``thresholds.yaml`` sets, what each accepts. A new threshold is added
    here and given its default in ``thresholds.yaml``."""

    model_config = STRICT  # 2.5 is not a count, "0.8" not a ratio, an unknown name a typo

    similar_rate_ratio: float = Field(gt=0, le=1, description=_RATIO)
    similar_benefit_ratio: float = Field(gt=0, le=1, description=_RATIO)
    calibration_gap: float = Field(gt=0, description="a positive number")
    min_recommended: int = Field(ge=1, description=_COUNT)
    min_group_size: int = Field(ge=1, description=_COUNT)
    level: float = Field(gt=0, lt=1, description="a number strictly between 0 and 1")
    n_bootstrap: int = Field(ge=1, description=_COUNT)


THRESHOLDS = tuple(Thresholds.model_fields)


def load_thresholds(path: str | Path | None = None) -> dict:
    """The audit's thresholds as a dict: the defaults (``adapt/fairness/thresholds.yaml``),
    overridden by the YAML file at `path`.

    Unknown names and values of the wrong type or out of range are refused, all at once, in one
    ValueError line naming the file and each threshold.
    """
    thresholds = dict(_defaults())
    if path is None:
        return thresholds
    given = _read(path)
    unknown = [name for name in given if name not in THRESHOLDS]
    found = [f"unknown thresholds {unknown} (known: {', '.join(THRESHOLDS)})"] if unknown else []
    thresholds.update((name, value) for name, value in given.items() if name in THRESHOLDS)
    try:
        Thresholds.model_validate(thresholds)
    except ValidationError as error:
        # the defaults are valid (checked on first use): every error is the file's
        found += problems(error, Thresholds, thresholds)
    if found:
        raise ValueError(f"{path}: " + "; ".join(found))
    return thresholds


@functools.cache
def _defaults() -> dict:
    source = resources.files("adapt.fairness").joinpath("thresholds.yaml")
    defaults = yaml.safe_load(source.read_text("utf-8"))
    try:
        Thresholds.model_validate(defaults)
    except ValidationError as error:
        raise ValueError(f"{source}: " + "; ".join(problems(error, Thresholds, defaults))) from None
    return defaults


def _read(path: str | Path) -> dict:
    try:
        given = yaml.safe_load(Path(path).read_text("utf-8")) or {}
    except yaml.YAMLError as error:  # one line, as the other problems of the file
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or " ".join(str(error).split())
        raise ValueError(f"{path}: not valid YAML ({problem}{where})") from None
    if not isinstance(given, dict):
        raise ValueError(f"{path}: expected a mapping of thresholds, got {type(given).__name__}")
    return given

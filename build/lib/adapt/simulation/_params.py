"""Every world parameter's type and range, checked once whenever a world is built.

A world's parameters come from the default preset, a preset merged over it and dotted overrides
(`adapt generate --set`, the experiment's ``data.knobs`` and ``data.overrides``). Whatever their
source, each value must keep the type the default world gives it (a number stays a number, a list
keeps its length, a table stays a table) and stay in its range (a probability in [0, 1], a spread
>= 0, ...). The first that does not is refused with one line naming the parameter, the value and
what is allowed: ``knobs.positivity = 1.5: expected a number in [0, 1]``.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from numbers import Real
from typing import Any

import numpy as np
import yaml


class UnknownParameter(KeyError, ValueError):  # noqa: N818  (reads as what it is)
    """An override or preset names no world parameter.

    A ValueError like every other bad parameter; still a KeyError, as it always was.
    """

    def __str__(self) -> str:  # a KeyError would quote its message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Range:
    """Where a number may lie; both ends optional, each closed unless said otherwise."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    integer: bool = False

    def admits(self, x: float) -> bool:
        if self.integer and x != int(x):
            return False
        if self.low is not None and (x <= self.low if self.low_open else x < self.low):
            return False
        return self.high is None or x <= self.high

    def describe(self) -> str:
        what = "an integer" if self.integer else "a number"
        if self.low is not None and self.high is not None:
            return f"{what} in [{_number(self.low)}, {_number(self.high)}]"
        if self.low is not None:
            return f"{what} {'>' if self.low_open else '>='} {_number(self.low)}"
        return what


ANY = Range()
PROBABILITY = Range(0, 1)
NON_NEGATIVE = Range(0)
POSITIVE = Range(0, low_open=True)
COUNT = Range(1, integer=True)


@dataclass(frozen=True)
class ListRule:
    """What a list parameter must be beyond its length and numbers: `distribution` (weights
    >= 0, not all 0), `increasing`, or `fixed` (the default's value: the data contract's
    categories)."""

    kind: str


# The ranges the parameters' types do not say. A pattern names a parameter (``*`` matches within
# and across names) and covers its per-region or per-intervention entries; the first match wins.
# A number no pattern names may be any finite number.
RULES: tuple[tuple[str, Range | ListRule], ...] = (
    # The knobs: what experiments turn.
    ("knobs.effect_scale", NON_NEGATIVE),
    ("knobs.confounding_strength", NON_NEGATIVE),
    ("knobs.unobserved_confounding", NON_NEGATIVE),
    ("knobs.gender_bias", ANY),
    ("knobs.order_effect_scale", NON_NEGATIVE),
    ("knobs.positivity", PROBABILITY),
    ("calendar.window_days", POSITIVE),
    ("calendar.max_episodes", COUNT),
    ("calendar.days_per_month", POSITIVE),
    ("population.*_levels", ListRule("fixed")),
    ("population.p_*", PROBABILITY),
    ("population.mental_if_health_referral", PROBABILITY),
    ("population.age_sd", NON_NEGATIVE),
    ("population.support_years_*", POSITIVE),
    ("population.referral_probs", ListRule("distribution")),
    ("population.income_given_referral", ListRule("distribution")),
    ("population.swedish_if_born_*", ListRule("distribution")),
    ("population.education_probs", ListRule("distribution")),
    ("latent.*_noise", NON_NEGATIVE),
    ("latent.health_shock_sd", NON_NEGATIVE),
    ("latent.entry_step_cuts", ListRule("increasing")),
    ("progress.coordination_offsets_penalty", PROBABILITY),
    ("progress.jump_to_*", PROBABILITY),
    ("progress.work_training_to_job", PROBABILITY),
    ("progress.*_job_jump_factor", NON_NEGATIVE),
    ("episodes.median_days*", POSITIVE),
    ("episodes.duration_sd", NON_NEGATIVE),
    ("episodes.duration_scale", POSITIVE),
    ("episodes.region_duration", POSITIVE),
    ("episodes.cm_duration_ostra_sodertorn", POSITIVE),
    ("episodes.gap_mean_days", NON_NEGATIVE),
    ("episodes.overlap_probability", PROBABILITY),
    ("episodes.hours_per_week*", POSITIVE),
    ("episodes.women_social_enterprise_hours", NON_NEGATIVE),
    ("episodes.hours_sd", NON_NEGATIVE),
    ("exits.work_preparatory_exit", PROBABILITY),
    ("exits.step4_exit", PROBABILITY),
    ("exits.studies_share_step4", PROBABILITY),
    ("exits.moved", PROBABILITY),
    ("exits.other_support", PROBABILITY),
    ("exits.enrolment_limit_days", POSITIVE),
    ("exits.enrolment_limit_sd", NON_NEGATIVE),
    ("exits.exit_admin_days", NON_NEGATIVE),
)

KNOBS = tuple(name.removeprefix("knobs.") for name, _ in RULES if name.startswith("knobs."))


@cache
def reference() -> dict:
    """The default world's parameters: what every parameter's type is read from (read-only)."""
    text = resources.files("adapt.simulation").joinpath("presets/default.yaml").read_text("utf-8")
    return yaml.safe_load(text)


@cache  # a world has a few hundred names, and calibration builds many worlds
def rule_for(name: str) -> Range | ListRule:
    """The range of parameter `name` (dotted), or of the table entry it belongs to."""
    for pattern, rule in RULES:
        if fnmatchcase(name, pattern) or fnmatchcase(name, pattern + ".*"):
            return rule
    return ANY


def check_params(params: dict) -> None:
    """Raise ValueError, one line, for the first parameter of the wrong type or out of range."""
    _check(params, reference(), "")


def unknown_parameter(name: str, value: Any, known) -> UnknownParameter:
    """The error for an override naming no parameter, with the nearest names or all of them."""
    where, _, last = name.rpartition(".")
    names = [f"{where}.{k}" if where else str(k) for k in known]
    near = difflib.get_close_matches(last, [str(k) for k in known], n=3)
    close = [f"{where}.{k}" if where else k for k in near]
    if close:
        allowed = "did you mean " + " or ".join(repr(c) for c in close) + "?"
    elif len(names) <= 12:
        allowed = "expected one of " + ", ".join(names)
    else:
        allowed = f"{where} has {len(names)} parameters (see presets/default.yaml)"
    return UnknownParameter(f"unknown world parameter {name!r} = {_show(value)}: {allowed}")


# -- the walk ---------------------------------------------------------------------------------
def _check(value: Any, ref: Any, name: str) -> None:
    if isinstance(ref, dict):
        _check_table(value, ref, name)
    elif isinstance(ref, list):
        _check_list(value, ref, name)
    elif _is_number(ref):
        rule = rule_for(name)
        rule = rule if isinstance(rule, Range) else ANY
        if not (_is_number(value) and rule.admits(float(value))):
            _refuse(name, value, rule.describe())
    elif isinstance(ref, str) and not isinstance(value, str):
        _refuse(name, value, "a string")


def _check_table(value: Any, ref: dict, name: str) -> None:
    if not ref:  # an open table the default leaves empty (progress.order.last_two): its own check
        if value is not None and not isinstance(value, dict):
            _refuse(name, value, "a mapping")
        return
    by_region = "default" in ref and all(_is_number(v) for v in ref.values())
    if by_region and _is_number(value):  # one value for every region
        _check(value, ref["default"], name)
        return
    if not isinstance(value, dict):
        rule = rule_for(name)
        if by_region and isinstance(rule, Range):
            _refuse(name, value, f"{rule.describe()}, or one per region as {{default: ..., ...}}")
        _refuse(name, value, f"a mapping of {', '.join(map(str, list(ref)[:6]))}" + _more(ref))
    sibling = ref.get("default", next(iter(ref.values())))
    for key, item in value.items():
        _check(item, ref.get(key, sibling), f"{name}.{key}" if name else str(key))


def _check_list(value: Any, ref: list, name: str) -> None:
    rule = rule_for(name)
    kind = rule.kind if isinstance(rule, ListRule) else ""
    if kind == "fixed":
        if value != ref:
            _refuse(name, value, f"{ref} (the data contract's categories)")
        return
    n = len(ref)
    numbers = all(_is_number(r) for r in ref)
    if not isinstance(value, list | tuple) or len(value) != n:
        _refuse(name, value, _list_description(kind, n, numbers))
    if numbers:
        ok = all(_is_number(v) for v in value)
        if ok and kind == "distribution":
            ok = all(v >= 0 for v in value) and sum(value) > 0
        if ok and kind == "increasing":
            ok = all(a < b for a, b in zip(value, value[1:], strict=False))
        if not ok:
            _refuse(name, value, _list_description(kind, n, numbers))
    else:
        for i, (item, item_ref) in enumerate(zip(value, ref, strict=True)):
            _check(item, item_ref, f"{name}[{i}]")


def _list_description(kind: str, n: int, numbers: bool) -> str:
    if not numbers:
        return f"a list of {n}"
    if kind == "distribution":
        return f"a list of {n} numbers >= 0, not all 0"
    if kind == "increasing":
        return f"an increasing list of {n} numbers"
    return f"a list of {n} numbers"


def _is_number(x: Any) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool | np.bool_) and math.isfinite(float(x))


def _refuse(name: str, value: Any, expected: str):
    raise ValueError(f"{name} = {_show(value)}: expected {expected}")


def _more(ref: dict) -> str:
    return ", ..." if len(ref) > 6 else ""


def _show(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return _number(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _number(x: float) -> str:
    return repr(x)  # as typed: 1.5, 0.05, 1e-05, nan, never rounded

"""What `recommend()` takes and gives, as pydantic models (the HTTP API's schema too).

Inputs are strict: a wrong type is refused, never converted (``"34"`` is not an age, ``1`` is
not ``true``), NaN and infinity are refused, and unknown fields are refused unless they are
``x_`` covariates. Rules that need the catalogue or the model (regions, interventions, what a
region offers) are checked by the recommender, with the same kind of message.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from adapt.contract import LEVELS
from adapt.contract._schemas import AGE_RANGE, EXIT_REASONS, GENDERS

MAX_HISTORY = 200
MAX_K = 5
MAX_DAY = 100 * 365
MAX_HOURS = 100_000.0
MAX_YEARS = 80.0
MAX_TEXT = 100
LANGUAGES = ("sv", "en")

Code = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]
Day = Annotated[int, Field(ge=0, le=MAX_DAY, strict=True)]
Step = Annotated[int, Field(ge=0, le=20, strict=True)]
_STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


def _literal(values):
    return Literal[tuple(values)]


class Person(BaseModel):
    """The persons-contract fields that describe a person at entry (``person_id`` and the exit
    fields may be sent and are ignored); ``x_`` covariates when the model uses them."""

    model_config = ConfigDict(strict=True, extra="allow", allow_inf_nan=False)

    person_id: Code | None = None
    gender: _literal(GENDERS)
    age: Annotated[int, Field(ge=AGE_RANGE[0], le=AGE_RANGE[1])]
    region: Code
    years_on_support: Annotated[float, Field(ge=0, le=MAX_YEARS)]
    income_source: _literal(LEVELS["income_source"])
    referral_source: _literal(LEVELS["referral_source"])
    education: _literal(LEVELS["education"])
    born_abroad: bool
    swedish_level: _literal(LEVELS["swedish_level"])
    mental_ill_health: bool
    violence_exposure: bool
    exit_day: Annotated[float, Field(ge=0, le=MAX_DAY)] | None = None
    exit_reason: _literal(EXIT_REASONS) | None = None

    @model_validator(mode="after")
    def _covariates(self):
        for name, value in (self.model_extra or {}).items():
            if not name.startswith("x_") or len(name) > MAX_TEXT:
                raise ValueError(f"unknown field {name[:MAX_TEXT]!r} (extra covariates start x_)")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value}")
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise ValueError(f"{name} must be a number, text or true/false")
            if isinstance(value, str) and len(value) > MAX_TEXT:
                raise ValueError(f"{name} is longer than {MAX_TEXT} characters")
        return self

    def covariates(self) -> dict:
        return dict(self.model_extra or {})


class Episode(BaseModel):
    """One past episode, in the order they happened."""

    model_config = _STRICT

    intervention: Code
    start_day: Day
    end_day: Day
    hours: Annotated[float, Field(ge=0, le=MAX_HOURS)]
    step_before: Step
    step_after: Step

    @model_validator(mode="after")
    def _ends_after_start(self):
        if self.end_day < self.start_day:
            raise ValueError(f"end_day {self.end_day} is before start_day {self.start_day}")
        return self


class RecommendRequest(BaseModel):
    """A person, their past episodes and what to answer with."""

    model_config = _STRICT

    person: Person
    history: list[Episode] = Field(default_factory=list, max_length=MAX_HISTORY)
    k: Annotated[int, Field(ge=1, le=MAX_K)] = 3
    lang: _literal(LANGUAGES) = "sv"
    day: Day | None = None
    current_step: Step | None = None


class Interval(BaseModel):
    lower: float
    upper: float


class Option(BaseModel):
    """One offered intervention, ranked by its estimated probability of progress."""

    intervention: str
    name: str
    probability: float
    probability_interval: Interval
    uplift: float = Field(description="Gain in probability over current practice.")
    uplift_interval: Interval
    reasons: list[str]


class PlannedStep(BaseModel):
    position: int
    intervention: str
    name: str
    probability: float = Field(description="The model's probability of progress at this position.")
    expected_step: float


class JourneyItem(BaseModel):
    """One episode of the timeline: ``done`` (recorded) or ``planned``."""

    status: Literal["done", "planned"]
    position: int
    intervention: str
    name: str
    start_day: int | None = None
    end_day: int | None = None
    step_before: float
    step_after: float


class Named(BaseModel):
    code: str
    name: str


class StepInfo(BaseModel):
    level: int
    name: str


class Recommendation(BaseModel):
    """The answer of `recommend()`: options with reasons, a plan and the journey."""

    options: list[Option]
    plan: list[PlannedStep]
    journey: list[JourneyItem]
    current_step: StepInfo
    usual_path: Named
    model_version: str
    confident: bool
    notice: str | None = None
    lang: str

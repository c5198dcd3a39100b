"""The intervention catalogue: interventions, regions, what each region offers, the step ladder."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from adapt._strict import STRICT, did_you_mean, problems, yaml_path

LANGUAGES = ("sv", "en")


class CatalogueError(ValueError):
    """A catalogue file that does not describe a usable catalogue.

    Its message is one line; `problems` lists what is wrong, ``path: problem`` each.
    """

    def __init__(self, message: str, problems: tuple[str, ...] = ()):
        super().__init__(message)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Intervention:
    code: str
    sv: str
    en: str
    family: str
    language_adapted: bool = False
    repeatable: bool = True  # a planner may propose it again for the same person

    def name(self, language: str = "sv") -> str:
        return _in_language(self, language)


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    offers: tuple[str, ...]
    mia_participants: int = 0
    multi_agency_team: bool = False


@dataclass(frozen=True)
class Step:
    level: int
    sv: str
    en: str

    def name(self, language: str = "sv") -> str:
        return _in_language(self, language)


@dataclass(frozen=True)
class Catalogue:
    """Interventions, regions and ladder steps, in the order the catalogue file gives them."""

    interventions: dict[str, Intervention]
    regions: dict[str, Region]
    steps: dict[int, Step]
    source: str = field(default="<built-in>", compare=False)

    @property
    def intervention_codes(self) -> tuple[str, ...]:
        return tuple(self.interventions)

    @property
    def region_codes(self) -> tuple[str, ...]:
        return tuple(self.regions)

    @property
    def max_step(self) -> int:
        return max(self.steps)

    def offered(self, region: str) -> tuple[str, ...]:
        """The interventions `region` offers, in catalogue order."""
        if region not in self.regions:
            raise KeyError(f"unknown region {region!r}; the catalogue has {list(self.regions)}")
        return self.regions[region].offers

    def availability(self) -> pd.DataFrame:
        """Boolean table, one row per region and one column per intervention."""
        table = pd.DataFrame(False, index=list(self.regions), columns=list(self.interventions))
        for code, region in self.regions.items():
            table.loc[code, list(region.offers)] = True
        return table

    def availability_matrix(self) -> np.ndarray:
        """`availability()` as a (n_regions, n_interventions) bool array."""
        return self._availability.copy()

    @functools.cached_property
    def _availability(self) -> np.ndarray:
        # built once: a live request asks for it several times
        return self.availability().to_numpy(dtype=bool)

    def fingerprint(self) -> str:
        """A short hash of everything a model depends on: codes, families, offers and steps
        (display names excluded, so a translation fix keeps models usable)."""
        content = {
            "interventions": [
                (i.code, i.family, i.repeatable) for i in self.interventions.values()
            ],
            "regions": [(r.code, r.offers) for r in self.regions.values()],
            "steps": sorted(self.steps),
        }
        return hashlib.sha256(json.dumps(content).encode()).hexdigest()[:16]

    def families(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.family for i in self.interventions.values()))


def _in_language(entry, language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    return getattr(entry, language)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read a catalogue YAML file; without `path`, the built-in MIA catalogue.

    A file that is not UTF-8 YAML or describes no usable catalogue raises `CatalogueError`
    with one line naming the file and the problem (a missing file: FileNotFoundError).
    """
    if path is None:
        return _built_in_catalogue()
    try:
        raw = yaml.safe_load(Path(path).read_text("utf-8"))
    except UnicodeDecodeError as error:
        raise CatalogueError(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start})"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or " ".join(str(error).split())
        raise CatalogueError(f"{path}: not valid YAML ({problem}{where})") from None
    return parse_catalogue(raw, source=str(path))


@functools.cache
def _built_in_catalogue() -> Catalogue:
    # Parsed once per process: the planner and the service ask for it on every call.
    text = resources.files("adapt.catalogue").joinpath("catalogue.yaml").read_text("utf-8")
    return parse_catalogue(yaml.safe_load(text), source="<built-in>")


def parse_catalogue(raw: dict, source: str = "<dict>") -> Catalogue:
    """Build a catalogue from its YAML structure.

    Every problem is named at once, each with its YAML path, in one `CatalogueError` line:
    ``source: interventions.ips.repeatable: expected a boolean, got 'false'; ...``.
    """
    if not isinstance(raw, dict):
        raise CatalogueError(f"{source}: expected a mapping at top level, got {type(raw).__name__}")
    try:
        parsed, found = _CatalogueFile.model_validate(raw), []
    except ValidationError as error:
        parsed, found = None, _named(error, raw)
    # checked on the raw mapping, so that they are reported along with any error above
    found += _unknown_offers(raw)
    if found:
        raise CatalogueError(f"{source}: " + "; ".join(found), tuple(found))

    interventions = {
        code: Intervention(code=code, **entry.model_dump())
        for code, entry in parsed.interventions.items()
    }
    regions = {
        code: Region(
            code=code,
            name=entry.name,
            # in catalogue order, whatever the order the region lists them in
            offers=tuple(i for i in interventions if i in set(entry.offers)),
            mia_participants=entry.mia_participants,
            multi_agency_team=entry.multi_agency_team,
        )
        for code, entry in parsed.regions.items()
    }
    steps = {level: Step(level, entry.sv, entry.en) for level, entry in parsed.steps.items()}
    return Catalogue(interventions=interventions, regions=regions, steps=steps, source=source)


# The file's structure. Strict: a typo (an unknown key, "false" for false, 2.5 for an integer)
# is refused rather than ignored or coerced. Defaults are those of the dataclasses above.
class _StepEntry(BaseModel):
    model_config = STRICT
    sv: str
    en: str


class _InterventionEntry(BaseModel):
    model_config = STRICT
    sv: str
    en: str
    family: str
    language_adapted: bool = Intervention.language_adapted
    repeatable: bool = Intervention.repeatable


class _RegionEntry(BaseModel):
    model_config = STRICT
    name: str
    offers: Sequence[str] = Field(min_length=1, description="a non-empty list of interventions")
    mia_participants: int = Field(default=Region.mia_participants, ge=0)
    multi_agency_team: bool = Region.multi_agency_team


class _CatalogueFile(BaseModel):
    model_config = STRICT
    steps: dict[int, _StepEntry] = Field(min_length=1)
    interventions: dict[str, _InterventionEntry] = Field(min_length=1)
    regions: dict[str, _RegionEntry] = Field(min_length=1)

    @field_validator("steps")
    @classmethod
    def _no_gaps(cls, steps: dict) -> dict:
        if sorted(steps) != list(range(len(steps))):
            raise ValueError(f"expected levels 0..n without gaps, got {sorted(steps)}")
        return steps


SECTIONS = tuple(_CatalogueFile.model_fields)


def _named(error: ValidationError, raw: dict) -> list[str]:
    """`error`'s problems, ``path: problem`` each; a section missing or empty in its own words."""
    named = problems(error, _CatalogueFile, raw)
    for i, detail in enumerate(error.errors(include_url=False)):
        loc = detail["loc"]
        if (
            len(loc) == 1
            and loc[0] in SECTIONS
            and (detail["type"] == "missing" or not raw[loc[0]])
        ):
            named[i] = f"section {loc[0]!r} is missing or empty"
    return named


def _unknown_offers(raw: dict) -> list[str]:
    """Each offer naming an intervention the catalogue does not have."""
    interventions, regions = raw.get("interventions"), raw.get("regions")
    if not isinstance(interventions, dict) or not isinstance(regions, dict):
        return []  # already reported
    found = []
    for code, region in regions.items():
        offers = region.get("offers") if isinstance(region, dict) else None
        for i, offer in enumerate(offers if isinstance(offers, list | tuple) else ()):
            if isinstance(offer, str) and offer not in interventions:
                hint = did_you_mean(offer, interventions) or " (not in interventions)"
                path = yaml_path(("regions", code, "offers", i), raw)
                found.append(f"{path}: unknown intervention {offer!r}{hint}")
    return found

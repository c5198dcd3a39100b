"""The intervention catalogue: interventions, regions, what each region offers, the step ladder."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

LANGUAGES = ("sv", "en")


class CatalogueError(ValueError):
    """A catalogue file that does not describe a usable catalogue."""


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


def _flag(entry: dict, key: str, default: bool, where: str) -> bool:
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise CatalogueError(f"{where}.{key} must be true or false, got {value!r}")
    return value


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
    try:
        return parse_catalogue(raw, source=str(path))
    except CatalogueError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        text = " ".join(str(error).split())
        raise CatalogueError(f"{path}: not a usable catalogue ({text})") from None


@functools.cache
def _built_in_catalogue() -> Catalogue:
    # Parsed once per process: the planner and the service ask for it on every call.
    text = resources.files("adapt.catalogue").joinpath("catalogue.yaml").read_text("utf-8")
    return parse_catalogue(yaml.safe_load(text), source="<built-in>")


def parse_catalogue(raw: dict, source: str = "<dict>") -> Catalogue:
    """Build a catalogue from its YAML structure, naming the first problem found."""
    if not isinstance(raw, dict):
        raise CatalogueError(f"{source}: expected a mapping at top level, got {type(raw).__name__}")
    for section in ("steps", "interventions", "regions"):
        if not isinstance(raw.get(section), dict) or not raw[section]:
            raise CatalogueError(f"{source}: section {section!r} is missing or empty")

    steps = {}
    for level, names in raw["steps"].items():
        _require(names, ("sv", "en"), f"{source}: steps.{level}")
        steps[int(level)] = Step(int(level), str(names["sv"]), str(names["en"]))
    if sorted(steps) != list(range(len(steps))):
        raise CatalogueError(f"{source}: steps must be 0..n without gaps, got {sorted(steps)}")

    interventions = {}
    for code, entry in raw["interventions"].items():
        _require(entry, ("sv", "en", "family"), f"{source}: interventions.{code}")
        interventions[code] = Intervention(
            code=code,
            sv=str(entry["sv"]),
            en=str(entry["en"]),
            family=str(entry["family"]),
            language_adapted=bool(entry.get("language_adapted", False)),
            repeatable=_flag(entry, "repeatable", True, f"{source}: interventions.{code}"),
        )

    regions = {}
    for code, entry in raw["regions"].items():
        _require(entry, ("name", "offers"), f"{source}: regions.{code}")
        if not isinstance(entry["offers"], list | tuple):
            raise CatalogueError(
                f"{source}: regions.{code}.offers must be a list of intervention codes, "
                f"got {entry['offers']!r}"
            )
        unknown = [i for i in entry["offers"] if i not in interventions]
        if unknown:
            raise CatalogueError(
                f"{source}: regions.{code}.offers names unknown interventions {unknown}; "
                f"known: {list(interventions)}"
            )
        if not entry["offers"]:
            raise CatalogueError(f"{source}: regions.{code}.offers is empty")
        offers = tuple(i for i in interventions if i in set(entry["offers"]))
        regions[code] = Region(
            code=code,
            name=str(entry["name"]),
            offers=offers,
            mia_participants=int(entry.get("mia_participants", 0)),
            multi_agency_team=bool(entry.get("multi_agency_team", False)),
        )
    return Catalogue(interventions=interventions, regions=regions, steps=steps, source=source)


def _require(entry, keys: tuple[str, ...], where: str) -> None:
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: expected a mapping, got {type(entry).__name__}")
    missing = [k for k in keys if k not in entry]
    if missing:
        raise CatalogueError(f"{where}: missing field(s) {missing}")

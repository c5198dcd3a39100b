"""World parameters: a preset YAML merged with overrides, compiled to arrays over the catalogue."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from adapt.catalogue import Catalogue, load_catalogue
from adapt.simulation._params import check_params, unknown_parameter

PRESET_DIR = "presets"


def available_presets() -> tuple[str, ...]:
    folder = resources.files("adapt.simulation").joinpath(PRESET_DIR)
    return tuple(
        sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))
    )


def _read_preset(name: str | Path) -> dict:
    path = Path(name)
    if path.suffix == ".yaml" and path.exists():
        return yaml.safe_load(path.read_text("utf-8")) or {}
    if str(name) not in available_presets():
        raise ValueError(
            f"unknown world preset {str(name)!r}; expected one of {available_presets()} "
            "or a path to a .yaml file"
        )
    return copy.deepcopy(_packaged_preset(str(name)))


@cache  # parsing the default world's YAML is most of the time it takes to build a world
def _packaged_preset(name: str) -> dict:
    text = (
        resources.files("adapt.simulation")
        .joinpath(PRESET_DIR)
        .joinpath(f"{name}.yaml")
        .read_text("utf-8")
    )
    return yaml.safe_load(text) or {}


def _merge(base: dict, update: dict, where: str = "") -> dict:
    """Deep-merge `update` into a copy of `base`; unknown keys are an error, not a new setting.

    An unknown key raises `UnknownParameter` (a KeyError and a ValueError) naming the nearest
    known ones; types and ranges are checked on the merged whole (`World._compile`).
    """
    merged = copy.deepcopy(base)
    for key, value in update.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in merged and not _is_open_mapping(merged, where):
            raise unknown_parameter(path, value, merged)
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value, path)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _is_open_mapping(mapping: dict, where: str) -> bool:
    # Per-region and per-intervention tables accept new keys (a region or intervention added
    # to the catalogue); parameter sections do not.
    return "default" in mapping or where.endswith(
        (
            "first_choice",
            "intervention_effect",
            "intercept",
            "median_days_intervention",
            "hours_per_week_intervention",
            "last_two",
        )
    )


def _last_two_table(table: dict, families: tuple[str, ...]) -> np.ndarray:
    """``{"a>b>c": logit}`` as an array indexed [family a, family b, family c].

    The key reads in time order: family a, then family b (the most recent), then c is chosen.
    """
    n = len(families)
    out = np.zeros((n, n, n))
    for key, value in table.items():
        names = [part.strip() for part in str(key).split(">")]
        unknown = [f for f in names if f not in families]
        if len(names) != 3 or unknown:
            why = f"unknown families {unknown}" if unknown else "it does not name three families"
            raise ValueError(
                f"progress.order.last_two key {key!r}: {why}; expected "
                f"'familyA>familyB>familyC' with families from {families}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"progress.order.last_two[{key!r}] must be a number, got {value!r}")
        a, b, c = (families.index(f) for f in names)
        out[a, b, c] = float(value)
    return out


def _dotted_to_nested(overrides: dict[str, Any]) -> dict:
    nested: dict = {}
    for key, value in overrides.items():
        node = nested
        parts = str(key).split(".")
        for i, part in enumerate(parts[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):  # {"knobs": 1, "knobs.positivity": 0.1}
                within = ".".join(parts[: i + 1])
                raise ValueError(f"{key} = {value!r}: {within} is set to a value as well")
        node[parts[-1]] = _plain(value)
    return nested


def _plain(value: Any) -> Any:
    """Mappings and sequences (OmegaConf's from an experiment config) as dicts and lists."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(item) for item in value]
    return value


@dataclass
class World:
    """The parameters of one simulated world, compiled against a catalogue.

    Parameters
    ----------
    params : dict
        The merged parameter tree (see ``presets/default.yaml``).
    catalogue : Catalogue
        Interventions, regions and availability the world uses.
    """

    params: dict
    catalogue: Catalogue = field(default_factory=load_catalogue)
    preset: str = "default"

    @classmethod
    def from_preset(
        cls,
        preset: str | Path = "default",
        overrides: dict | None = None,
        catalogue: Catalogue | None = None,
    ) -> World:
        """Load the default world, merge `preset` over it, then dotted `overrides`."""
        params = _read_preset("default")
        if str(preset) != "default":
            params = _merge(params, _read_preset(preset))
        if overrides:
            params = _merge(params, _dotted_to_nested(overrides))
        return cls(params=params, catalogue=catalogue or load_catalogue(), preset=str(preset))

    def __post_init__(self):
        self._compile()

    # -- compiled views -------------------------------------------------------------------------
    def _compile(self) -> None:
        check_params(self.params)  # every parameter's type and range, one line for the first bad
        cat, p = self.catalogue, self.params
        self.regions = cat.region_codes
        self.interventions = cat.intervention_codes
        self.families = tuple(sorted(p["progress"]["stage_fit"]))
        unknown = {i.family for i in cat.interventions.values()} - set(self.families)
        if unknown:
            raise ValueError(f"catalogue families {sorted(unknown)} have no stage_fit in the world")
        self.family_of = np.array(
            [self.families.index(cat.interventions[i].family) for i in self.interventions]
        )
        self.available = cat.availability_matrix()
        self.last_two = _last_two_table(p["progress"]["order"].get("last_two") or {}, self.families)
        sizes = np.array([cat.regions[r].mia_participants or 1 for r in self.regions], float)
        self.region_mix = sizes / sizes.sum()

    def set_region_mix(self, mix: dict[str, float]) -> None:
        unknown = set(mix) - set(self.regions)
        if unknown:
            raise ValueError(f"region_mix names unknown regions {sorted(unknown)}")
        weights = np.array([float(mix.get(r, 0.0)) for r in self.regions])
        if (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(f"region_mix weights must be >= 0 and not all 0, got {mix}")
        self.region_mix = weights / weights.sum()

    def by_region(self, table: dict | float) -> np.ndarray:
        """A {default: x, region: y} table as an array over regions."""
        return self._by(table, self.regions)

    def by_intervention(
        self, table: dict, family_table: dict | None = None, default: float = 0.0
    ) -> np.ndarray:
        """Per-intervention values, falling back to the family's value, then `default`."""
        values = []
        for code, fam in zip(self.interventions, self.family_of, strict=True):
            if code in table:
                values.append(float(table[code]))
            elif family_table is not None and self.families[fam] in family_table:
                values.append(float(family_table[self.families[fam]]))
            else:
                values.append(float(table.get("default", default)))
        return np.array(values)

    def by_family(self, table: dict) -> np.ndarray:
        return np.array([table[f] for f in self.families], dtype=float)

    def mask(self, codes: set[str] | tuple[str, ...], of: str = "intervention") -> np.ndarray:
        names = self.interventions if of == "intervention" else self.families
        return np.array([n in codes for n in names])

    @staticmethod
    def _by(table, keys) -> np.ndarray:
        if not isinstance(table, dict):
            return np.full(len(keys), table, dtype=float)
        default = table.get("default")
        rows = []
        for k in keys:
            value = table.get(k, default)
            if value is None:
                raise KeyError(f"no value for {k!r} and no default in {table}")
            rows.append(value)
        return np.array(rows, dtype=float)

    @property
    def knobs(self) -> dict:
        return self.params["knobs"]

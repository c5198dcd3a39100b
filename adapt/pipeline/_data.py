"""The data an experiment runs on: a simulated world or a folder of contract tables."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from adapt.contract import find_table, read_table, validate_tables
from adapt.simulation import World, simulate


@dataclass
class ExperimentData:
    """persons and episodes (and the truth, when simulated) with a fingerprint of their inputs.

    ``fingerprint`` is a SHA-256 of what produced the data: the world's parameters, the
    catalogue, the size and the seed for a simulation; the files' bytes for a folder. ``world``
    and ``seed`` are the simulation's (None for a folder), so its truth can be asked again.
    """

    persons: pd.DataFrame
    episodes: pd.DataFrame
    truth: pd.DataFrame | None
    fingerprint: str
    source: str
    description: dict = field(default_factory=dict)
    world: World | None = None
    seed: int | None = None

    @property
    def simulated(self) -> bool:
        return self.truth is not None


def _sha256(payload) -> str:
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def simulated_data(
    n_persons: int, seed: int, preset: str = "default", overrides: dict | None = None
) -> ExperimentData:
    """Simulate `n_persons` from `preset` with dotted world-parameter `overrides`."""
    world = World.from_preset(preset, overrides or {})
    data = simulate(n_persons, seed=seed, world=world)
    catalogue = world.catalogue
    inputs = {
        "params": world.params,
        "interventions": list(catalogue.intervention_codes),
        "availability": catalogue.availability().astype(int).to_dict(),
        "n_persons": n_persons,
        "seed": seed,
    }
    return ExperimentData(
        data["persons"],
        data["episodes"],
        data["truth"],
        fingerprint=_sha256(inputs),
        source="simulated",
        description={"preset": preset, "n_persons": n_persons, "seed": seed},
        world=world,
        seed=seed,
    )


def folder_data(path: str | Path) -> ExperimentData:
    """persons and episodes from a folder, refused with every violation if they break the contract.

    A ``truth`` table beside them (as ``adapt generate`` writes) is read too, so evaluation can
    use it.
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"data folder {path} does not exist")
    persons, episodes = read_table(path, "persons"), read_table(path, "episodes")
    validate_tables(persons, episodes)
    truth = read_table(path, "truth") if find_table(path, "truth") is not None else None
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode("utf-8"))
        digest.update(file.read_bytes())
    return ExperimentData(
        persons,
        episodes,
        truth,
        fingerprint=digest.hexdigest(),
        source="folder",
        description={"path": str(path), "n_persons": len(persons)},
    )


def split_persons(person_ids, validation_share: float, seed: int) -> np.ndarray:
    """A boolean mask over `person_ids`: True for rows of persons drawn into validation.

    Every row of one person falls on the same side, so no history leaks across the split.
    """
    if not 0 < validation_share < 1:
        raise ValueError(f"validation_share must lie in (0, 1), got {validation_share}")
    ids = pd.Series(person_ids)
    unique = np.sort(ids.unique())
    n_valid = round(validation_share * len(unique))
    if n_valid == 0 or n_valid == len(unique):
        raise ValueError(
            f"a validation share of {validation_share} of {len(unique)} persons leaves one side "
            "empty; use more persons or another share"
        )
    chosen = np.random.default_rng(seed).permutation(unique)[:n_valid]
    return ids.isin(chosen).to_numpy()

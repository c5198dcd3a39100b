"""The data an experiment runs on: a simulated world or a folder of contract tables."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from adapt.catalogue import Catalogue, load_catalogue
from adapt.contract import find_table, read_table, validate_tables
from adapt.simulation import World, simulate


@dataclass
class ExperimentData:
    """persons and episodes (and the truth, when simulated) with a fingerprint of their inputs.

    ``fingerprint`` is a SHA-256 of what produced the data: the world's parameters, the
    catalogue, the size and the seed for a simulation; the files' bytes for a folder (and the
    catalogue they were read with, when it is not the built-in one). ``world`` and ``seed`` are
    the simulation's (None for a folder), so its truth can be asked again. ``catalogue`` is the
    one the tables were simulated or read with.
    """

    persons: pd.DataFrame
    episodes: pd.DataFrame
    truth: pd.DataFrame | None
    fingerprint: str
    source: str
    description: dict = field(default_factory=dict)
    world: World | None = None
    seed: int | None = None
    catalogue: Catalogue = field(default_factory=load_catalogue)

    @property
    def simulated(self) -> bool:
        return self.truth is not None


def _sha256(payload) -> str:
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def simulated_data(
    n_persons: int,
    seed: int,
    preset: str = "default",
    overrides: dict | None = None,
    catalogue: Catalogue | None = None,
) -> ExperimentData:
    """Simulate `n_persons` from `preset` with dotted world-parameter `overrides`, over
    `catalogue` (the built-in one by default)."""
    world = World.from_preset(preset, overrides or {}, catalogue)
    data = simulate(n_persons, seed=seed, world=world)
    catalogue = world.catalogue
    inputs = {
        "params": world.params,
        "interventions": list(catalogue.intervention_codes),
        "availability": catalogue.availability().astype(int).to_dict(),
        "n_persons": n_persons,
        "seed": seed,
    }
    if _own(catalogue):  # families, steps, repeatability: what availability does not show
        inputs["catalogue"] = catalogue.fingerprint()
    return ExperimentData(
        data["persons"],
        data["episodes"],
        data["truth"],
        fingerprint=_sha256(inputs),
        source="simulated",
        description={"preset": preset, "n_persons": n_persons, "seed": seed},
        world=world,
        seed=seed,
        catalogue=catalogue,
    )


def folder_data(path: str | Path, catalogue: Catalogue | None = None) -> ExperimentData:
    """persons and episodes from a folder, read and checked with `catalogue` (the built-in one
    by default), refused with every violation if they break the contract.

    A ``truth`` table beside them (as ``adapt generate`` writes) is read too, so evaluation can
    use it.
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"data folder {path} does not exist")
    catalogue = catalogue or load_catalogue()
    persons = read_table(path, "persons", catalogue)
    episodes = read_table(path, "episodes", catalogue)
    validate_tables(persons, episodes, catalogue=catalogue)
    has_truth = find_table(path, "truth") is not None
    truth = read_table(path, "truth", catalogue) if has_truth else None
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode("utf-8"))
        digest.update(file.read_bytes())
    if _own(catalogue):  # the same files read with another catalogue are other data
        digest.update(f"catalogue {catalogue.fingerprint()}".encode())
    return ExperimentData(
        persons,
        episodes,
        truth,
        fingerprint=digest.hexdigest(),
        source="folder",
        description={"path": str(path), "n_persons": len(persons)},
        catalogue=catalogue,
    )


def _own(catalogue: Catalogue) -> bool:
    """Whether `catalogue` differs from the built-in one (fingerprints of data made with the
    built-in catalogue stay as they were before catalogues could be chosen)."""
    return catalogue.fingerprint() != load_catalogue().fingerprint()


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

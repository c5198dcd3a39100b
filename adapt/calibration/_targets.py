"""Calibration target sets: published figures a simulated population must reproduce."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

KINDS = ("share", "mean", "hours_share", "at_least", "highest")
TARGET_DIR = Path(__file__).resolve().parents[2] / "synthetic_data" / "targets"


@dataclass(frozen=True)
class Target:
    """One published figure and how to measure it on persons."""

    id: str
    figure: str
    kind: str
    value: float | str
    source: str
    tolerance: float = 0.0
    population: str = "all"
    condition: str | None = None
    column: str | None = None
    by: str | None = None


def load_targets(name_or_path: str | Path = "mia") -> list[Target]:
    """Read a target set by name (``synthetic_data/targets/NAME.yaml``) or from a path."""
    path = Path(name_or_path)
    if path.suffix != ".yaml":
        path = TARGET_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no target set at {path}; give a name from {TARGET_DIR} or a path")
    raw = yaml.safe_load(path.read_text("utf-8"))
    targets = []
    for i, entry in enumerate(raw.get("targets", [])):
        try:
            target = Target(**entry)
        except TypeError as error:
            raise ValueError(f"{path}: target #{i} ({entry.get('id')}): {error}") from None
        if target.kind not in KINDS:
            raise ValueError(
                f"{path}: target {target.id!r} has kind {target.kind!r}; expected one of {KINDS}"
            )
        targets.append(target)
    return targets

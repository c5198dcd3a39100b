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


def available_target_sets() -> tuple[str, ...]:
    """The names of the target sets in ``synthetic_data/targets``."""
    return tuple(sorted(p.stem for p in TARGET_DIR.glob("*.yaml")))


def target_set_path(name_or_path: str | Path) -> Path:
    """The file of a target set, by name or path; FileNotFoundError, one line, naming the known
    sets when there is none."""
    path = Path(name_or_path)
    if path.suffix != ".yaml":
        path = TARGET_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(available_target_sets()) or "none"
        raise FileNotFoundError(
            f"no target set {str(name_or_path)!r}: expected one of {known} "
            f"(in {TARGET_DIR}) or a path to a .yaml file"
        )
    return path


def load_targets(name_or_path: str | Path = "mia") -> list[Target]:
    """Read a target set by name (``synthetic_data/targets/NAME.yaml``) or from a path."""
    path = target_set_path(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        raise ValueError(f"{path}{line}: not a target set (invalid YAML)") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("targets", []), list):
        raise ValueError(f"{path}: expected a mapping with a list under 'targets'")
    targets = []
    for i, entry in enumerate(raw.get("targets", [])):
        try:
            target = Target(**entry)
        except TypeError as error:
            if not isinstance(entry, dict):
                raise ValueError(f"{path}: target #{i} is not a mapping: {entry!r}") from None
            raise ValueError(f"{path}: target #{i} ({entry.get('id')}): {error}") from None
        if target.kind not in KINDS:
            raise ValueError(
                f"{path}: target {target.id!r} has kind {target.kind!r}; expected one of {KINDS}"
            )
        targets.append(target)
    return targets

"""What a plan needs besides progression: step-back rates and a typical episode's length."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from adapt.catalogue import Catalogue, load_catalogue

TRANSITIONS_FILE = "transitions.json"


@dataclass
class StepTransitions:
    """Estimated from recorded episodes: how often a step is lost, how long episodes last.

    Attributes
    ----------
    back_rate : list of float
        Per step, the share of episodes without progress that ended a step lower (0 on step 0).
    progress_to : dict
        Per intervention and step, the distribution of the step reached when an episode
        progresses (some lead straight to work or studies, several steps up).
    days, hours : dict
        Per intervention, the median length in days and hours of its episodes.
    gap_days : float
        Median days between one episode's end and the next one's start.
    """

    back_rate: list[float]
    progress_to: dict[str, list[list[float]]]
    days: dict[str, float]
    hours: dict[str, float]
    gap_days: float

    @classmethod
    def fit(
        cls, episodes: pd.DataFrame, catalogue: Catalogue | None = None, prior_weight: float = 20.0
    ) -> StepTransitions:
        """Estimate from a contract episodes table. Rare steps and interventions borrow from
        the whole table (`prior_weight` pseudo-episodes at the overall rate or median)."""
        catalogue = catalogue or load_catalogue()
        if len(episodes) == 0:
            raise ValueError("step transitions need recorded episodes; the episodes table is empty")
        before, after = episodes["step_before"], episodes["step_after"]
        still = episodes[(after <= before) & (before > 0)]
        overall = float((still["step_after"] < still["step_before"]).mean()) if len(still) else 0.0
        back = []
        for step in range(catalogue.max_step + 1):
            at = still[still["step_before"] == step]
            lost = float((at["step_after"] < at["step_before"]).sum())
            back.append(
                0.0 if step == 0 else (lost + prior_weight * overall) / (len(at) + prior_weight)
            )
        length = (episodes["end_day"] - episodes["start_day"]).astype(float)
        median_days, median_hours = float(length.median()), float(episodes["hours"].median())
        by = episodes.assign(_days=length).groupby("intervention", observed=True)
        days = by["_days"].median().to_dict()
        hours = by["hours"].median().to_dict()
        codes = catalogue.intervention_codes
        progress_to = _progress_to(episodes, catalogue, prior_weight)
        ordered = episodes.sort_values(["person_id", "episode_no"], kind="stable")
        same = ordered["person_id"].to_numpy()[1:] == ordered["person_id"].to_numpy()[:-1]
        gaps = ordered["start_day"].to_numpy()[1:][same] - ordered["end_day"].to_numpy()[:-1][same]
        return cls(
            back_rate=back,
            progress_to=progress_to,
            days={c: float(days.get(c, median_days)) for c in codes},
            hours={c: float(hours.get(c, median_hours)) for c in codes},
            gap_days=float(np.median(np.maximum(gaps, 0))) if len(gaps) else 0.0,
        )

    def progress_matrix(self, codes) -> np.ndarray:
        """(interventions, steps, steps) array: P(step reached | progress, intervention, step)."""
        return np.array([self.progress_to[c] for c in codes], dtype=float)

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / TRANSITIONS_FILE
        path.write_text(json.dumps(asdict(self), indent=2), "utf-8")
        return path

    @classmethod
    def load(cls, folder: str | Path) -> StepTransitions:
        path = Path(folder) / TRANSITIONS_FILE
        if not path.exists():
            raise FileNotFoundError(
                f"no step transitions at {path}; `adapt train` writes them beside the model"
            )
        fields = json.loads(path.read_text("utf-8"))
        expected = set(cls.__dataclass_fields__)
        if not isinstance(fields, dict) or set(fields) != expected:
            given = sorted(fields) if isinstance(fields, dict) else type(fields).__name__
            raise ValueError(
                f"{path} does not hold step transitions: expected fields {sorted(expected)}, "
                f"found {given}; train the model again with `adapt train`"
            )
        return cls(**fields)


def _progress_to(episodes: pd.DataFrame, catalogue: Catalogue, prior_weight: float) -> dict:
    """Per intervention and step: where a progression led. Each intervention's counts are
    pulled toward its family's at that step (`prior_weight` pseudo-episodes), and the family's
    toward one step up."""
    top = catalogue.max_step
    up = episodes[episodes["step_after"] > episodes["step_before"]]
    family = up["intervention"].map({c: i.family for c, i in catalogue.interventions.items()})

    def counts(mask) -> np.ndarray:
        table = np.zeros((top + 1, top + 1))
        np.add.at(
            table,
            (up["step_before"].to_numpy()[mask], up["step_after"].to_numpy()[mask]),
            1.0,
        )
        return table

    one_up = np.zeros((top + 1, top + 1))
    one_up[np.arange(top), np.arange(1, top + 1)] = 1.0
    one_up[top, top] = 1.0
    out = {}
    for code, intervention in catalogue.interventions.items():
        of_family = counts((family == intervention.family).to_numpy())
        prior = _smoothed(of_family, one_up, prior_weight)
        out[code] = _smoothed(counts((up["intervention"] == code).to_numpy()), prior, prior_weight)
        out[code] = out[code].tolist()
    return out


def _smoothed(counts: np.ndarray, prior: np.ndarray, weight: float) -> np.ndarray:
    total = counts.sum(axis=1, keepdims=True)
    return (counts + weight * prior) / (total + weight)

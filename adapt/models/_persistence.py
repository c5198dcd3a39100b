"""Saving and loading a fitted learner with a small, readable description beside it."""

from __future__ import annotations

import json
from pathlib import Path

import joblib

from adapt.models._base import MultiTreatmentLearner

MODEL_FILE, CARD_FILE = "model.joblib", "model.json"


def save_model(model: MultiTreatmentLearner, folder: str | Path, **description) -> Path:
    """Write ``model.joblib`` and ``model.json`` (learner, parameters, features, `description`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / MODEL_FILE)
    params = {k: v for k, v in model.get_params().items() if k != "catalogue"}
    card = {
        "learner": type(model).__name__,
        "params": params,
        "features": list(model.feature_names_in_),
        "interventions": model.interventions_,
        **description,
    }
    (folder / CARD_FILE).write_text(json.dumps(card, indent=2, default=str), "utf-8")
    return folder


def load_model(folder: str | Path) -> MultiTreatmentLearner:
    path = Path(folder) / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(f"no fitted model at {path}; train one with `adapt train`")
    model = joblib.load(path)
    if not isinstance(model, MultiTreatmentLearner):
        raise TypeError(f"{path} holds a {type(model).__name__}, not an adapt learner")
    return model

"""Saving and loading a fitted learner with a small, readable description beside it."""

from __future__ import annotations

import json
from pathlib import Path

import joblib

from adapt.catalogue import load_catalogue
from adapt.contract import CONTRACT_VERSION
from adapt.models._base import MultiTreatmentLearner

MODEL_FILE, CARD_FILE = "model.joblib", "model.json"
# The packages a saved model's objects come from: recorded at save, checked at load.
VERSIONED = ("adapt", "lightgbm", "scikit-learn", "numpy", "pandas")


def package_versions() -> dict[str, str]:
    """The installed versions of `VERSIONED`."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in VERSIONED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - adapt run from a source tree
            found[name] = "unknown"
    return found


def save_model(model: MultiTreatmentLearner, folder: str | Path, **description) -> Path:
    """Write ``model.joblib`` and ``model.json`` (learner, parameters, features, `description`)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, folder / MODEL_FILE)
    params = {k: v for k, v in model.get_params().items() if k != "catalogue"}
    catalogue = model.catalogue or load_catalogue()
    card = {
        "learner": type(model).__name__,
        "catalogue_fingerprint": catalogue.fingerprint(),
        "contract_version": CONTRACT_VERSION,
        "params": params,
        "features": list(model.feature_names_in_),
        "interventions": model.interventions_,
        "versions": package_versions(),
        **description,
    }
    (folder / CARD_FILE).write_text(json.dumps(card, indent=2, default=str), "utf-8")
    return folder


def load_model(folder: str | Path) -> MultiTreatmentLearner:
    """The learner saved in `folder`, refused if it was made for another catalogue or contract
    version than the one it would now serve under."""
    path = Path(folder) / MODEL_FILE
    if not path.exists():
        raise FileNotFoundError(f"no fitted model at {path}; train one with `adapt train`")
    check_packages(read_description(folder), str(folder))  # before unpickling anything
    model = joblib.load(path)
    if not isinstance(model, MultiTreatmentLearner):
        raise TypeError(f"{path} holds a {type(model).__name__}, not an adapt learner")
    check_versions(read_description(folder), model.catalogue or load_catalogue(), str(folder))
    return model


def check_packages(description: dict, where: str) -> None:
    """Refuse, in one line, a model saved under another major version of a package its
    objects come from (a pickle of another major version may load wrongly or not at all);
    models saved before versions were recorded pass."""
    saved = description.get("versions") or {}
    now = package_versions()
    for name, then in saved.items():
        here = now.get(name, "unknown")
        if "unknown" in (then, here) or then.split(".")[0] == here.split(".")[0]:
            continue
        raise ValueError(
            f"{where}: the model was saved with {name} {then}, this installation has {here} "
            f"(another major version); install {name}=={then.split('.')[0]}.* or train it again"
        )


def read_description(folder: str | Path) -> dict:
    """``model.json`` of a saved model ({} when absent)."""
    path = Path(folder) / CARD_FILE
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def check_versions(description: dict, catalogue, where: str) -> None:
    """Refuse a model whose recorded catalogue or contract version differs from `catalogue`'s
    and this library's (models saved before versions were recorded pass)."""
    made_for = description.get("contract_version")
    if made_for is not None and made_for != CONTRACT_VERSION:
        raise ValueError(
            f"{where}: the model was made for data contract version {made_for}, this adapt "
            f"reads version {CONTRACT_VERSION}; train it again"
        )
    fingerprint = description.get("catalogue_fingerprint")
    if fingerprint is not None and fingerprint != catalogue.fingerprint():
        raise ValueError(
            f"{where}: the model was made for another catalogue (fingerprint {fingerprint}, "
            f"this one is {catalogue.fingerprint()}: {catalogue.source}); train it again or "
            "load the catalogue it was made for"
        )

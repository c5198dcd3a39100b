"""Saving and loading a fitted learner with a small, readable description beside it.

A model folder holds ``model.json`` (the description), ``learner.json`` (the fitted state)
and ``boosters/`` (each LightGBM model in LightGBM's text format): no pickle (see
`adapt.models._storage`). Folders from before, with a joblib pickle ``model.joblib``, still
load.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

from adapt.catalogue import load_catalogue
from adapt.contract import CONTRACT_VERSION
from adapt.models._base import MultiTreatmentLearner
from adapt.models._storage import BOOSTERS, STATE_FILE, read_state, write_state

PICKLE_FILE, CARD_FILE = "model.joblib", "model.json"
# The packages a saved model comes from: recorded at save. A pickle's objects depend on every
# one of them; the saved state only on adapt's meaning of it and LightGBM's text format.
VERSIONED = ("adapt", "lightgbm", "scikit-learn", "numpy", "pandas")
STATE_DEPENDS_ON = ("adapt", "lightgbm")


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
    """Write ``model.json`` (learner, parameters, features, versions, `description`),
    ``learner.json`` and ``boosters/`` into `folder`."""
    if not isinstance(model, MultiTreatmentLearner):
        raise TypeError(f"save_model saves an adapt learner, got {type(model).__name__}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_state(model, folder)
    (folder / PICKLE_FILE).unlink(missing_ok=True)  # saved here by an older adapt: replaced
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
    version than the one it would now serve under, or under another major version of adapt
    or LightGBM."""
    folder = Path(folder)
    description = read_description(folder)
    if (folder / STATE_FILE).exists():
        check_packages(description, str(folder), STATE_DEPENDS_ON)
        model = read_state(folder)
    elif (folder / PICKLE_FILE).exists():
        model = _load_pickle(folder, description)
    else:
        raise FileNotFoundError(
            f"no fitted model in {folder} (no {STATE_FILE}); train one with `adapt train`"
        )
    if not isinstance(model, MultiTreatmentLearner):
        raise TypeError(f"{folder} holds a {type(model).__name__}, not an adapt learner")
    check_versions(description, model.catalogue or load_catalogue(), str(folder))
    return model


def _load_pickle(folder: Path, description: dict):
    """A model saved as a joblib pickle by adapt before 0.2 (only a folder you trust: a pickle
    runs code as it loads)."""
    import joblib

    check_packages(description, str(folder), VERSIONED)  # before unpickling anything
    warnings.warn(
        f"{folder} holds a pickled model from an older adapt; save it again with "
        "adapt.models.save_model for the durable format",
        FutureWarning,
        stacklevel=3,
    )
    return joblib.load(folder / PICKLE_FILE)


def check_packages(description: dict, where: str, names=VERSIONED) -> None:
    """Refuse, in one line, a model saved under another major version of one of the packages
    `names` it depends on (it may load wrongly or not at all); models saved before versions
    were recorded pass."""
    saved = description.get("versions") or {}
    now = package_versions()
    for name, then in saved.items():
        if name not in names:
            continue
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


def holds_model(folder: str | Path) -> bool:
    """Whether `folder` holds a saved learner (either format)."""
    return any((Path(folder) / name).exists() for name in (STATE_FILE, PICKLE_FILE))


def model_digest(folder: str | Path) -> str:
    """A short hash of the saved learner's files: changes whenever the model does."""
    folder = Path(folder)
    files = [folder / STATE_FILE, *sorted((folder / BOOSTERS).glob("*.txt"))]
    if not files[0].exists():
        files = [folder / PICKLE_FILE]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]

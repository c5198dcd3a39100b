"""Loading a recommender from a model folder or an MLflow model URI, once per process."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from adapt._extras import require
from adapt.models import load_model
from adapt.models._persistence import holds_model, model_digest
from adapt.planning import StepTransitions
from adapt.recommender._recommender import Recommender

MODEL_ENV = "ADAPT_MODEL"
# Where the registered pyfunc keeps the learner's folder (see adapt.tracking).
PYFUNC_LEARNER = Path("artifacts") / "learner"


def load_recommender(source: str | os.PathLike) -> Recommender:
    """A `Recommender` from a folder written by `adapt train` or an MLflow model URI
    (``models:/adapt-recommender@champion``, ``models:/name/3``, ``runs:/...``).

    Loaded once per process and source, then reused.
    """
    return _load(str(source))


@functools.lru_cache(maxsize=8)
def _load(source: str) -> Recommender:
    if "://" in source or source.startswith("models:/") or source.startswith("runs:/"):
        folder, version = _download(source)
    else:
        folder = Path(source)
        if not folder.is_dir():
            raise FileNotFoundError(f"{source}: no such model folder (nor an MLflow model URI)")
        version = None
    model = load_model(folder)
    transitions = StepTransitions.load(folder)
    if version is None:
        version = f"{type(model).__name__}:{model_digest(folder)}"
    return Recommender(model, transitions, version=version)


def default_recommender() -> Recommender:
    """The recommender named by the ``ADAPT_MODEL`` environment variable."""
    source = os.environ.get(MODEL_ENV)
    if not source:
        raise ValueError(f"no model given: pass model=<folder or models:/ URI> or set {MODEL_ENV}")
    return load_recommender(source)


def _download(uri: str) -> tuple[Path, str]:
    mlflow = require("mlflow")
    from mlflow.exceptions import MlflowException

    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except MlflowException as error:
        raise ValueError(f"{uri}: {error.message}") from None
    folder = local / PYFUNC_LEARNER
    if not holds_model(folder):
        raise ValueError(f"{uri} is not an adapt recommender (no {PYFUNC_LEARNER} in it)")
    return folder, _registered_version(uri)


def _registered_version(uri: str) -> str:
    """``name/version`` of a models:/ URI (an alias resolved), else the URI itself."""
    from mlflow import MlflowClient

    if not uri.startswith("models:/"):
        return uri
    name, _, rest = uri.removeprefix("models:/").partition("@")
    client = MlflowClient()
    if rest:
        return f"{name}/{client.get_model_version_by_alias(name, rest).version}"
    name, _, number = name.partition("/")
    return f"{name}/{number}" if number else uri

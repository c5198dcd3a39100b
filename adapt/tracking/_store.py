"""Where runs are tracked: an MLflow store, checked before any work starts."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import mlflow
from mlflow import MlflowClient


@contextmanager
def _one_quick_attempt(timeout_seconds: int):
    """MLflow retries HTTP calls with backoff for minutes; the start-up check should not."""
    settings = {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(timeout_seconds),
    }
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class TrackingUnavailable(RuntimeError):
    """The tracking store cannot be reached or written."""


def local_store(root: str | Path) -> tuple[str, str]:
    """The embedded default under `root`: a SQLite database and an artifact folder."""
    root = Path(root).resolve()
    return f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri()


def connect(
    uri: str, experiment: str, artifact_root: str | None = None, timeout_seconds: int = 10
) -> str:
    """Point MLflow at `uri`, check it answers, and return the id of `experiment`.

    The experiment is created when missing, with its artifacts under `artifact_root` (a URI or
    folder) when given.

    Raises
    ------
    TrackingUnavailable
        When the store does not answer within `timeout_seconds` or cannot be written.
    """
    if uri.startswith("sqlite:///"):
        folder = Path(uri.removeprefix("sqlite:///")).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise TrackingUnavailable(
                f"cannot create the tracking store's folder {folder}: {error.strerror}"
            ) from None
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(uri, uri)
    try:
        with _one_quick_attempt(timeout_seconds):
            found = client.get_experiment_by_name(experiment)
        if found is not None:
            return found.experiment_id
        if artifact_root and not urlparse(artifact_root).scheme:
            artifact_root = Path(artifact_root).resolve().as_uri()
        location = f"{artifact_root.rstrip('/')}/{experiment}" if artifact_root else None
        return client.create_experiment(experiment, artifact_location=location)
    except Exception as error:  # MLflow raises many kinds; all mean the same to the caller
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "Max retries exceeded" in reason or "ConnectionError" in reason:
            reason = "no answer (connection failed)"
        raise TrackingUnavailable(
            f"cannot reach the MLflow tracking store at {uri}: {reason[:300]}"
        ) from None

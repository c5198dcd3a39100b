"""Where runs are tracked: an MLflow store, checked before any work starts."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

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


def local_folder(uri: str) -> tuple[Path, bool] | None:
    """The local folder `uri` names, and whether the URI is the folder itself (a file store)
    rather than a SQLite database inside it; None for remote and in-memory stores.

    A plain path and a ``file:`` URI name the store's folder; ``sqlite:///db`` names a database
    file whose folder must exist. Relative paths resolve against the current directory, as
    MLflow resolves them.
    """
    if uri.startswith("sqlite:"):
        path = uri.removeprefix("sqlite:").removeprefix("///").split("?")[0]
        if not path or path == "//" or ":memory:" in path:
            return None
        return Path(path).resolve().parent, False
    parsed = urlparse(uri)
    if uri == "databricks":  # MLflow's name for the Databricks workspace, not a path
        return None
    if parsed.scheme == "file":
        return Path(url2pathname(parsed.path)).resolve(), True
    if not parsed.scheme or (len(parsed.scheme) == 1 and os.name == "nt"):  # a drive letter
        return Path(uri).resolve(), True
    return None


def connect(
    uri: str,
    experiment: str,
    artifact_root: str | None = None,
    timeout_seconds: int = 10,
    *,
    create_folder: bool = True,
) -> str:
    """Point MLflow at `uri`, check it answers, and return the id of `experiment`.

    The experiment is created when missing, with its artifacts under `artifact_root` (a URI or
    folder) when given. A local store's folder (a plain path, a ``file:`` URI, or the folder of
    a ``sqlite:///`` database) is created when missing, as for the embedded store of
    :func:`local_store`; with `create_folder` False it must exist instead, so that a mistyped
    path a user named is refused rather than silently started as a new, empty store.

    Raises
    ------
    TrackingUnavailable
        When a local store's folder is missing (with `create_folder` False) or cannot be
        created, or the store does not answer within `timeout_seconds` or cannot be written.
    """
    local = local_folder(uri)
    if local is not None:
        folder, is_store = local
        if create_folder:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise TrackingUnavailable(
                    f"cannot create the tracking store's folder {folder}: {error.strerror}"
                ) from None
        elif not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            store = "" if is_store else " (the folder of its database)"
            raise TrackingUnavailable(
                f"the tracking store {uri} names the folder {folder}{store}, which {what}; "
                "a store you name is never created: create the folder or correct the URI"
            )
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

"""What every run records, and how runs of one sweep find each other."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import RunStatus

CONFIG_KEY_TAG = "adapt.config_key"
SWEEP_KEY_TAG = "adapt.sweep_key"
ROLE_TAG = "adapt.role"
DATA_TAG = "adapt.data_fingerprint"  # on runs and on registered model versions
PARENT_TAG = "mlflow.parentRunId"
# Runs asked for per search_runs call (MLflow's own default page size).
PAGE_SIZE = 1000


def config_key(config: Mapping) -> str:
    """A short, stable hash of a (nested) configuration."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def flatten(config: Mapping, prefix: str = "") -> dict[str, object]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists are kept as their JSON text."""
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = json.dumps(value) if isinstance(value, list | dict) else value
    return flat


def git_revision(folder: str | Path) -> str:
    """The commit checked out in `folder` (``+dirty`` with uncommitted changes), or 'unknown'."""

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}+dirty" if dirty else sha


def log_inputs(config: Mapping, fingerprint: str, revision: str) -> None:
    """The resolved config (as params and as ``config.json``), data fingerprint and revision."""
    mlflow.log_params(flatten(config))
    mlflow.log_dict(dict(config), "config.json")
    mlflow.set_tags({DATA_TAG: fingerprint, "mlflow.source.git.commit": revision})


def log_table(table: pd.DataFrame, name: str) -> None:
    """`table` as ``<name>.csv`` among the run's artifacts."""
    mlflow.log_text(table.to_csv(index=table.index.name is not None), f"{name}.csv")


def find_runs(
    experiment_id: str, tags: Mapping[str, str], statuses=None, page_size: int = PAGE_SIZE
) -> list:
    """Every run of the experiment carrying every tag, newest first, optionally only in
    `statuses`; MLflow is asked for `page_size` runs at a time until no page is left."""
    query = " and ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items())
    client = MlflowClient()
    runs, token = [], None
    while True:  # one call returns at most one page: stopping there would cut a sweep short
        page = client.search_runs(
            [experiment_id],
            filter_string=query,
            order_by=["attributes.start_time DESC"],
            max_results=page_size,
            page_token=token,
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    if statuses is not None:
        runs = [r for r in runs if r.info.status in statuses]
    return runs


def open_sweep(experiment_id: str, sweep_key: str, name: str) -> tuple[str, bool]:
    """The parent run of a sweep: an unfinished one with the same key (resumed) or a new one.

    Returns the run id and whether it was resumed.
    """
    unfinished = find_runs(
        experiment_id,
        {SWEEP_KEY_TAG: sweep_key, ROLE_TAG: "sweep"},
        statuses=("RUNNING", "FAILED", "KILLED"),
    )
    client = MlflowClient()
    if unfinished:
        run_id = unfinished[0].info.run_id
        client.update_run(run_id, status="RUNNING")
        return run_id, True
    run = client.create_run(
        experiment_id, tags={SWEEP_KEY_TAG: sweep_key, ROLE_TAG: "sweep"}, run_name=name
    )
    return run.info.run_id, False


def finished_child(experiment_id: str, parent_run_id: str, key: str):
    """The finished run of configuration `key` under the sweep, or None.

    Unfinished runs of the same configuration (a sweep that was interrupted) are marked KILLED,
    so the summary counts only the run that replaces them.
    """
    runs = find_runs(experiment_id, {PARENT_TAG: parent_run_id, CONFIG_KEY_TAG: key})
    done = [r for r in runs if r.info.status == "FINISHED"]
    for run in runs:
        if run.info.status == "RUNNING":
            MlflowClient().set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.KILLED))
    return done[0] if done else None


def sweep_summary(
    experiment_id: str, parent_run_id: str, metrics, over: str = "seed"
) -> pd.DataFrame:
    """Mean and standard deviation of `metrics` over `over`, per setting of the other params.

    A setting is a combination of the params that differ between the sweep's finished runs.
    """
    runs = find_runs(experiment_id, {PARENT_TAG: parent_run_id}, statuses=("FINISHED",))
    if not runs:
        return pd.DataFrame()
    params = pd.DataFrame([r.data.params for r in runs])
    values = pd.DataFrame([r.data.metrics for r in runs]).reindex(columns=list(metrics))
    varying = [c for c in params if params[c].nunique(dropna=False) > 1 and c != over]
    table = pd.concat([params[varying], values], axis=1)
    if not varying:
        table = table.assign(setting="all")
        varying = ["setting"]
    grouped = table.groupby(varying, sort=True)[list(metrics)]
    summary = grouped.agg(["mean", "std"])
    summary.columns = [f"{m}_{stat}" for m, stat in summary.columns]
    summary.insert(0, "runs", grouped.size())
    return summary


def format_summary(summary: pd.DataFrame, metrics, digits: int = 3) -> str:
    """One line per setting: ``metric mean ± sd`` for each metric."""
    if summary.empty:
        return "no finished runs"
    lines = []
    names = summary.index.names
    for setting, row in summary.iterrows():
        values = setting if isinstance(setting, tuple) else (setting,)
        label = ", ".join(f"{n}={v}" for n, v in zip(names, values, strict=True))
        cells = [
            f"{m} {row[f'{m}_mean']:.{digits}f} ± {row[f'{m}_std']:.{digits}f}"
            for m in metrics
            if f"{m}_mean" in row
        ]
        lines.append(f"{label:<30} n={int(row['runs'])}  " + "  ".join(cells))
    return "\n".join(lines)

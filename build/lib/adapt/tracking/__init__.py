"""Track experiments in MLflow: a store checked up front, run records, a registered recommender.

:func:`connect` points MLflow at a store (the embedded SQLite one from :func:`local_store` by
default) and fails with :class:`TrackingUnavailable` before any work when it cannot. Runs record
their inputs with :func:`log_inputs`; sweeps resume through :func:`open_sweep` and
:func:`finished_child` and are summarised by :func:`sweep_summary`, all finding runs through
:func:`find_runs`, which reads every page of a search. :func:`log_recommender`
logs and registers the recommender as a pyfunc model; :func:`promote_if_better` moves the
``champion`` alias only when the validation metric improves on the same data and split
(:func:`split_id`) as the current holder's.
"""

from adapt.tracking._registry import (
    SPLIT_TAG,
    Promotion,
    RecommenderModel,
    current_champion,
    log_recommender,
    promote_if_better,
    split_id,
    synthetic_example,
)
from adapt.tracking._runs import (
    CONFIG_KEY_TAG,
    DATA_TAG,
    ROLE_TAG,
    SWEEP_KEY_TAG,
    config_key,
    find_runs,
    finished_child,
    flatten,
    format_summary,
    git_revision,
    log_inputs,
    log_table,
    open_sweep,
    sweep_summary,
)
from adapt.tracking._store import TrackingUnavailable, connect, local_folder, local_store

__all__ = [
    "CONFIG_KEY_TAG",
    "DATA_TAG",
    "ROLE_TAG",
    "SPLIT_TAG",
    "SWEEP_KEY_TAG",
    "Promotion",
    "RecommenderModel",
    "TrackingUnavailable",
    "config_key",
    "connect",
    "current_champion",
    "find_runs",
    "finished_child",
    "flatten",
    "format_summary",
    "git_revision",
    "local_folder",
    "local_store",
    "log_inputs",
    "log_recommender",
    "log_table",
    "open_sweep",
    "promote_if_better",
    "split_id",
    "sweep_summary",
    "synthetic_example",
]

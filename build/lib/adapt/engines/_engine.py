"""The local and the Dask engine: one `map` of a function over jobs, results in order."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol

ENGINES = ("local", "dask")
# A task whose worker dies is re-run elsewhere by the scheduler; an exception inside a task is
# retried this many times before the run fails (an OOM-killed or pre-empted worker may show as
# either).
RETRIES = 2
CONNECT_SECONDS = 10


class EngineError(RuntimeError):
    """The engine cannot start or reach its cluster; the message is one line."""


class Engine(Protocol):
    workers: int

    def map(
        self,
        function: Callable,
        jobs: Sequence[tuple],
        weights: Sequence[int] | None = None,
        progress: Callable[[int], object] | None = None,
    ) -> list: ...

    def close(self) -> None: ...


class LocalEngine:
    """This process (``workers=1``) or a pool of `workers` processes."""

    def __init__(self, workers: int = 1):
        _check_workers(workers)
        self.workers = workers

    def map(self, function, jobs, weights=None, progress=None) -> list:
        """`function(*job)` for every job, in order; `progress(weight)` as each one ends."""
        weights = _weights(jobs, weights)
        results = []
        if self.workers == 1:
            for job, weight in zip(jobs, weights, strict=True):
                results.append(function(*job))
                _tell(progress, weight)
            return results
        with ProcessPoolExecutor(max_workers=self.workers) as pool:
            columns = list(zip(*jobs, strict=True)) if jobs else []
            for result, weight in zip(pool.map(function, *columns), weights, strict=True):
                results.append(result)
                _tell(progress, weight)
        return results

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalEngine(workers={self.workers})"


class DaskEngine:
    """A Dask cluster: a `LocalCluster` of `workers` processes started here, or the existing
    one at `scheduler`. The function is sent to every worker once; jobs run where Dask puts
    them, and a task lost with its worker runs again elsewhere."""

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        connect_seconds: float | None = None,
    ):
        if (workers is None) == (scheduler is None):
            raise ValueError("the dask engine needs exactly one of workers and scheduler")
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise EngineError(
                "the dask engine needs dask and distributed, which are not installed: "
                "pip install 'adapt[dask]'"
            ) from None
        self._cluster = None
        connect_seconds = CONNECT_SECONDS if connect_seconds is None else connect_seconds
        if scheduler is not None:
            try:
                self._client = Client(scheduler, timeout=connect_seconds)
            except (OSError, TimeoutError, ValueError) as error:
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                raise EngineError(
                    f"cannot reach the Dask scheduler at {scheduler} within "
                    f"{connect_seconds:g} s: {reason}"
                ) from None
        else:
            _check_workers(workers)
            self._cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            self._client = Client(self._cluster)
        self.scheduler = scheduler
        self.workers = len(self._client.scheduler_info()["workers"]) or (workers or 1)

    def map(self, function, jobs, weights=None, progress=None) -> list:
        """`function(*job)` for every job on the cluster; results in the jobs' order."""
        from distributed import as_completed

        weights = _weights(jobs, weights)
        if not jobs:
            return []
        shared = self._client.scatter(function, broadcast=True, hash=False)
        futures = self._client.map(
            _call, [shared] * len(jobs), list(jobs), pure=False, retries=RETRIES
        )
        weight_of = {future.key: weight for future, weight in zip(futures, weights, strict=True)}
        for future in as_completed(futures):
            future.result()  # raises the task's error here, once its retries are spent
            _tell(progress, weight_of[future.key])
        return self._client.gather(futures)

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.scheduler or "a LocalCluster"
        return f"DaskEngine({where}, workers={self.workers})"


def make_engine(kind: str = "local", workers: int | None = None, scheduler: str | None = None):
    """The engine `kind` names: ``local`` (`workers` processes, 1 by default) or ``dask``
    (a LocalCluster of `workers` processes, 2 by default, or the cluster at `scheduler`)."""
    if kind not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {kind!r}")
    if kind == "local":
        if scheduler is not None:
            raise ValueError("a scheduler address needs the dask engine (--engine dask)")
        return LocalEngine(1 if workers is None else workers)
    if scheduler is not None and workers is not None:
        raise ValueError("give the dask engine workers (a LocalCluster) or a scheduler, not both")
    return DaskEngine(
        workers=2 if scheduler is None and workers is None else workers, scheduler=scheduler
    )


def _call(function, job):
    return function(*job)


def _weights(jobs, weights) -> list[int]:
    if weights is None:
        return [1] * len(jobs)
    weights = list(weights)
    if len(weights) != len(jobs):
        raise ValueError(f"{len(jobs)} jobs but {len(weights)} weights")
    return weights


def _tell(progress, weight) -> None:
    if progress is not None:
        progress(weight)


def _check_workers(workers) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")

"""Where the heavy paths run: here, in this process or a pool of processes, or on a Dask
cluster. Every chunked path (generate, recommend, plan) hands its jobs to an engine's `map`;
the results come back in the jobs' order, so the output does not depend on the engine or the
number of workers.

``make_engine("local", workers=N)``: N = 1 runs in this process, more in a process pool.
``make_engine("dask", workers=N)`` starts a `distributed.LocalCluster` of N single-threaded
processes; ``make_engine("dask", scheduler="tcp://host:8786")`` joins an existing cluster
(`dask scheduler` and `dask worker`, or any deployment). Dask is imported only then (the
``dask`` extra).
"""

from adapt.engines._engine import (
    ENGINES,
    DaskEngine,
    Engine,
    EngineError,
    LocalEngine,
    make_engine,
)

__all__ = ["ENGINES", "DaskEngine", "Engine", "EngineError", "LocalEngine", "make_engine"]

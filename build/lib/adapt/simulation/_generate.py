"""Simulate in memory, or write a population to disk in chunks, in parallel and atomically."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from adapt._files import swap_into_place
from adapt.engines import LocalEngine
from adapt.simulation._engine import simulate_slice
from adapt.simulation._tables import to_arrow
from adapt.simulation._world import World

TABLES = ("persons", "episodes", "truth")
MANIFEST = "generation.json"


def _check_size(n_persons, seed) -> None:
    if isinstance(n_persons, bool) or not isinstance(n_persons, int | np.integer) or n_persons < 1:
        raise ValueError(f"n_persons must be a positive integer, got {n_persons!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def simulate(
    n_persons: int,
    seed: int = 0,
    world: World | None = None,
    preset: str = "default",
    truth: bool = True,
) -> dict[str, pd.DataFrame]:
    """Simulate `n_persons` in memory: ``{"persons", "episodes"[, "truth"]}`` as DataFrames."""
    _check_size(n_persons, seed)
    world = world or World.from_preset(preset)
    sim = simulate_slice(world, int(seed), np.arange(n_persons), record_truth=truth)
    frames = {name: table.to_pandas() for name, table in to_arrow(world, sim).items()}
    frames["persons"]["exit_day"] = frames["persons"]["exit_day"].astype("Int64")
    return frames


@dataclass
class GenerationSummary:
    out: str
    n_persons: int
    seed: int
    preset: str
    n_episodes: int
    n_truth_rows: int
    ended_share: float
    progressed_share_of_ended: float
    seconds: float

    def __str__(self) -> str:
        return (
            f"wrote {self.n_persons:,} persons, {self.n_episodes:,} episodes and "
            f"{self.n_truth_rows:,} truth rows to {self.out} in {self.seconds:.1f} s "
            f"(world {self.preset!r}, seed {self.seed}); ended {100 * self.ended_share:.1f} %, "
            f"of whom {100 * self.progressed_share_of_ended:.1f} % to work, studies or an "
            f"ordinary programme"
        )


def _write_chunk(world: World, seed: int, start: int, stop: int, folder: str, part: int) -> dict:
    sim = simulate_slice(world, seed, np.arange(start, stop), record_truth=True)
    tables = to_arrow(world, sim)
    for name, table in tables.items():
        # written under a temporary name and renamed: a task re-run after its worker died
        # replaces a whole part, never finds half of one
        final = Path(folder) / name / f"part-{part:05d}.parquet"
        partial = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}")
        pq.write_table(table, partial)
        os.replace(partial, final)
    reasons = tables["persons"].column("exit_reason").to_numpy(zero_copy_only=False)
    ended = reasons != "ongoing"
    return {
        "n_episodes": tables["episodes"].num_rows,
        "n_truth_rows": tables["truth"].num_rows,
        "ended": int(ended.sum()),
        "progressed": int(np.isin(reasons, ["work", "studies", "work_preparatory"]).sum()),
    }


def generate(
    out: str | Path,
    n_persons: int,
    seed: int = 0,
    world: World | None = None,
    chunk_size: int = 50_000,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool | None = None,
    engine=None,
) -> GenerationSummary:
    """Write ``out/persons``, ``out/episodes`` and ``out/truth`` as Parquet datasets.

    Persons are simulated `chunk_size` at a time so memory does not grow with `n_persons`; the
    data do not depend on `chunk_size`, `workers` or the engine. The chunks run on `engine`
    (an `adapt.engines` engine: a Dask cluster's workers need `out`'s file system) or, by
    default, on `workers` local processes. The folder appears only when complete.
    """
    _check_size(n_persons, seed)
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    world = world or World.from_preset()
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True (--overwrite) to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    began = time.perf_counter()
    try:
        for name in TABLES:
            (staging / name).mkdir(parents=True)
        bounds = [(s, min(s + chunk_size, n_persons)) for s in range(0, n_persons, chunk_size)]
        jobs = [(world, int(seed), a, b, str(staging), i) for i, (a, b) in enumerate(bounds)]
        bar = tqdm(
            total=n_persons,
            unit="persons",
            disable=progress is False if progress is not None else None,
            desc="simulating",
        )
        sizes = [b - a for a, b in bounds]
        if engine is None:
            with LocalEngine(workers) as local:
                results = local.map(_write_chunk, jobs, sizes, bar.update)
        else:
            results = engine.map(_write_chunk, jobs, sizes, bar.update)
        bar.close()
        for name in TABLES:  # what tasks lost with their worker left half-written
            for partial in (staging / name).glob(".part-*"):
                partial.unlink()
        totals = {k: sum(r[k] for r in results) for k in results[0]}
        summary = GenerationSummary(
            out=str(out),
            n_persons=n_persons,
            seed=int(seed),
            preset=world.preset,
            n_episodes=totals["n_episodes"],
            n_truth_rows=totals["n_truth_rows"],
            ended_share=totals["ended"] / n_persons,
            progressed_share_of_ended=totals["progressed"] / max(totals["ended"], 1),
            seconds=time.perf_counter() - began,
        )
        manifest = {
            **asdict(summary),
            "params": world.params,
            "chunk_size": chunk_size,
            "catalogue": world.catalogue.source,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), "utf-8")
        swap_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return summary

"""Persons a chunk at a time, each with their episodes: memory follows the chunk, not the
population."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

CHUNK_PERSONS = 1_000


def person_chunks(
    persons: pd.DataFrame, episodes: pd.DataFrame, size: int = CHUNK_PERSONS
) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """Consecutive slices of `size` persons (in their order) with exactly their episodes (in
    theirs). Episodes of persons the table lacks are in no chunk: callers validate first."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"chunk size must be a whole number of persons >= 1, got {size!r}")
    position = pd.Index(persons["person_id"]).get_indexer(episodes["person_id"])
    chunk = np.where(position >= 0, position // size, -1)
    order = np.argsort(chunk, kind="stable")
    bounds = np.searchsorted(chunk[order], np.arange(0, -(-len(persons) // size) + 1))
    for c in range(-(-len(persons) // size)):
        rows = order[bounds[c] : bounds[c + 1]]
        yield persons.iloc[c * size : (c + 1) * size], episodes.iloc[rows]


def map_person_chunks(
    work: Callable[[pd.DataFrame, pd.DataFrame], object],
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    size: int = CHUNK_PERSONS,
    progress: Callable[[int], object] | None = None,
    engine=None,
) -> list:
    """`work(persons, episodes)` for each chunk of `size` persons, the results in order;
    `progress` is told how many persons each chunk held. With `engine` (`adapt.engines`) the
    chunks run on its workers; the results are the same."""
    chunks = list(person_chunks(persons, episodes, size))
    sizes = [len(chunk) for chunk, _ in chunks]
    if engine is None:
        results = []
        for (chunk, their_episodes), n in zip(chunks, sizes, strict=True):
            results.append(work(chunk, their_episodes))
            if progress is not None:
                progress(n)
        return results
    return engine.map(work, chunks, sizes, progress)


def by_person_chunks(
    work: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame],
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    size: int = CHUNK_PERSONS,
    progress: Callable[[int], object] | None = None,
    engine=None,
) -> pd.DataFrame:
    """`map_person_chunks`, the tables `work` returns concatenated in order."""
    parts = map_person_chunks(work, persons, episodes, size, progress, engine)
    return pd.concat(parts, ignore_index=True) if parts else work(persons, episodes)

"""Start states for judging k-step plans: the true state just before a recorded episode."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapt.contract import EPISODE_COLUMNS
from adapt.simulation._dynamics import State
from adapt.simulation._engine import DecisionContext, _take
from adapt.simulation._population import Population


@dataclass
class StartStates:
    """Persons standing just before one of their recorded episodes, one row per start.

    Attributes
    ----------
    persons : DataFrame
        The observed person columns (``OBSERVED_PERSON_COLUMNS``), one row per start.
    history : DataFrame
        The recorded episodes 1..n-1 of these persons, in the episodes table's columns.
    episode_no : ndarray
        n, the episode about to start.
    step : ndarray
        The step each person stands on.
    available : DataFrame
        Bool, one column per intervention code: what the person's region offers.

    The remaining fields hold the truth (latent population and state, the calendar so far) and
    must not reach a model.
    """

    persons: pd.DataFrame
    history: pd.DataFrame
    episode_no: np.ndarray
    step: np.ndarray
    available: pd.DataFrame
    _population: Population
    _state: State
    _last_start: np.ndarray  # start day of episode n-1 (0 when n = 1)
    _last_end: np.ndarray  # end day of episode n-1 (0 when n = 1)
    _ended_by: np.ndarray  # (starts, interventions): the day each intervention last ended
    _done: np.ndarray  # (starts, interventions) bool: in the history

    def __len__(self) -> int:
        return len(self.episode_no)

    def take(self, rows) -> StartStates:
        """The starts at positions `rows` (an index array or a boolean mask)."""
        rows = np.arange(len(self))[np.asarray(rows)]
        persons = self.persons.iloc[rows].reset_index(drop=True)
        history = self.history[self.history["person_id"].isin(persons["person_id"])]
        return StartStates(
            persons=persons,
            history=history.reset_index(drop=True),
            episode_no=self.episode_no[rows],
            step=self.step[rows],
            available=self.available.iloc[rows].reset_index(drop=True),
            _population=_take(self._population, rows),
            _state=self._state.take(rows),
            _last_start=self._last_start[rows],
            _last_end=self._last_end[rows],
            _ended_by=self._ended_by[rows],
            _done=self._done[rows],
        )


def draw_start_states(oracle, persons: pd.DataFrame, episodes: pd.DataFrame, seed: int = 0):
    """`Oracle.start_states`: replay the histories and keep the state before a drawn episode."""
    from adapt.simulation._oracle import OBSERVED_PERSON_COLUMNS

    world = oracle.world
    ids = persons["person_id"].to_numpy()
    n_recorded = (
        episodes.groupby("person_id")["episode_no"].max().reindex(ids).fillna(0).astype(int)
    ).to_numpy()
    # One recorded episode per person, uniformly; persons without episodes have no start.
    rng = np.random.default_rng(seed)
    has = np.flatnonzero(n_recorded > 0)
    target = np.zeros(len(ids), np.int64)
    target[has] = rng.integers(1, n_recorded[has] + 1)

    seen: list[tuple[np.ndarray, State]] = []

    def watch(ctx: DecisionContext) -> None:
        here = target[ctx.rows] == ctx.episode_no
        if here.any():
            seen.append((ctx.rows[here], ctx.state.take(np.flatnonzero(here))))

    sim, _ = oracle._replay(persons, episodes, watch)
    if not seen:
        raise ValueError("no person has a recorded episode, so there is no start state")
    rows = np.concatenate([r for r, _ in seen])
    order = np.argsort(rows)
    rows = rows[order]
    fields = State.__dataclass_fields__
    state = State(*(np.concatenate([getattr(s, f) for _, s in seen])[order] for f in fields))
    assert np.array_equal(rows, has), "every start must be met once in the replay"

    start_ids = ids[rows]
    n = target[rows]
    before = episodes.merge(pd.DataFrame({"person_id": start_ids, "_n": n}), on="person_id")
    history = (
        before[before["episode_no"] < before["_n"]][list(EPISODE_COLUMNS)]
        .sort_values(["person_id", "episode_no"])
        .reset_index(drop=True)
    )
    position = pd.Series(np.arange(len(rows)), index=start_ids)
    at = position.loc[history["person_id"].to_numpy()].to_numpy()
    code = pd.Index(world.interventions).get_indexer(history["intervention"])
    last = history["episode_no"].to_numpy() == n[at] - 1
    last_start, last_end = np.zeros(len(rows), np.int64), np.zeros(len(rows), np.int64)
    last_start[at[last]] = history["start_day"].to_numpy()[last]
    last_end[at[last]] = history["end_day"].to_numpy()[last]
    ended_by = np.zeros((len(rows), len(world.interventions)), np.int64)
    np.maximum.at(ended_by, (at, code), history["end_day"].to_numpy())
    done = np.zeros(ended_by.shape, bool)
    done[at, code] = True

    population = _take(sim.population, rows)
    # the contract's columns and any `x_` covariates the caller added (a learner may read them)
    kept = [*OBSERVED_PERSON_COLUMNS, *(c for c in persons.columns if c.startswith("x_"))]
    return StartStates(
        persons=persons.iloc[rows][kept].reset_index(drop=True),
        history=history,
        episode_no=n,
        step=state.step.astype(np.int64),
        available=pd.DataFrame(
            world.available[population.region], columns=list(world.interventions)
        ),
        _population=population,
        _state=state,
        _last_start=last_start,
        _last_end=last_end,
        _ended_by=ended_by,
        _done=done,
    )

"""Monte-Carlo steps gained over k episodes from start states, a policy deciding as it goes.

The person's own counter-based random numbers for episodes n..n+k-1 drive every draw, as in the
simulator, so two policies evaluated on the same starts meet the same draws (common random
numbers), and the behaviour policy reproduces the recorded episodes until the person's recorded
exit. Exits are switched off: everyone goes through all k episodes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.contract import EPISODE_COLUMNS
from adapt.simulation._dynamics import Dynamics
from adapt.simulation._engine import (
    DecisionContext,
    EpisodeRecord,
    draw_behaviour,
    draw_calendar,
    draw_step,
    health_shock,
)
from adapt.simulation._random import CounterRNG
from adapt.simulation._starts import StartStates


def closed_loop(
    oracle, start: StartStates, policy, k: int, seed: int | None = None
) -> tuple[np.ndarray, pd.DataFrame]:
    """Steps gained per start over k episodes under `policy`, and the simulated episodes.

    The draws come from the oracle's seed (the simulator's own draws) unless `seed` is given.
    """
    from adapt.simulation._oracle import DecisionBatch

    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if not (policy == "behaviour" or callable(policy)):
        raise TypeError(f"policy must be 'behaviour' or a callable, got {policy!r}")
    world, dyn = oracle.world, Dynamics(oracle.world)
    rng = CounterRNG(oracle.seed if seed is None else seed)
    codes = np.array(world.interventions, dtype=object)
    lookup = {c: i for i, c in enumerate(codes)}
    n = len(start)
    rows = np.arange(n)
    pop, state = start._population, start._state.take(rows)
    idx = pop.index
    offered = world.available[pop.region]
    last_start, last_end = start._last_start.copy(), start._last_end.copy()
    ended_by = start._ended_by.copy()
    record = EpisodeRecord()
    ids = start.persons["person_id"].to_numpy()

    for position in range(1, k + 1):
        episode = start.episode_no + position - 1
        if policy == "behaviour":
            chosen = draw_behaviour(dyn, rng, idx, episode, pop, state)
        else:
            context = DecisionContext(rows, episode, state, pop, offered, record)
            batch = DecisionBatch(
                persons=start.persons,
                history=_history(start, codes, ids, record),
                episode_no=episode.copy(),
                step=state.step.copy(),
                available=start.available.copy(),
                _context=context,
                position=np.full(n, position),
            )
            chosen = _check(list(policy(batch)), lookup, offered, position)

        p = dyn.progress_probabilities(pop, state)[rows, chosen]
        step = state.step
        progressed, new_step = draw_step(dyn, rng, idx, episode, pop, state, chosen, p)
        begin, end, hours = draw_calendar(
            dyn, rng, idx, episode, pop, chosen, state.last, last_start, last_end, ended_by
        )
        ended_by[rows, chosen] = end
        last_start, last_end = begin, end
        record.append(
            row=rows,
            episode_no=episode,
            intervention=chosen,
            start=begin,
            end=end,
            hours=hours,
            step_before=step,
            step_after=new_step,
        )
        shock = health_shock(world, rng, idx, episode)
        dyn.update(state, chosen, progressed, new_step, shock, pop)

    gained = (state.step - start.step).astype(float)
    return gained, _history(start, codes, ids, record, recorded=False)


def _history(start, codes, ids, record: EpisodeRecord, recorded: bool = True) -> pd.DataFrame:
    """The recorded history before the start (if `recorded`) and the episodes simulated since."""
    e = record.arrays()
    simulated = pd.DataFrame(
        {
            "person_id": ids[e["row"]],
            "episode_no": e["episode_no"].astype(np.int64),
            "intervention": codes[e["intervention"].astype(np.int64)],
            "start_day": e["start"].astype(np.int64),
            "end_day": e["end"].astype(np.int64),
            "hours": e["hours"].astype(np.float64),
            "step_before": e["step_before"].astype(np.int64),
            "step_after": e["step_after"].astype(np.int64),
        },
        columns=list(EPISODE_COLUMNS),
    )
    if not recorded:
        return simulated.sort_values(["person_id", "episode_no"], ignore_index=True)
    before = start.history.astype({"intervention": object})
    both = pd.concat([before, simulated], ignore_index=True) if len(simulated) else before
    return both.sort_values(["person_id", "episode_no"], ignore_index=True)


def _check(chosen: list, lookup: dict, offered: np.ndarray, position: int) -> np.ndarray:
    if len(chosen) != len(offered):
        raise ValueError(f"policy returned {len(chosen)} choices for {len(offered)} starts")
    unknown = sorted({str(c) for c in chosen if c not in lookup})
    if unknown:
        raise ValueError(f"policy returned unknown interventions {unknown}")
    index = np.array([lookup[c] for c in chosen], dtype=np.int64)
    bad = np.flatnonzero(~offered[np.arange(len(index)), index])
    if len(bad):
        raise ValueError(
            f"policy chose interventions not offered in the person's region at plan position "
            f"{position} for {len(bad)} starts (rows {bad[:10].tolist()}, e.g. {chosen[bad[0]]!r})"
        )
    return index

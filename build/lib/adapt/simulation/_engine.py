"""Run persons through episodes: choose, act, resolve, record; then cut at the data window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from adapt.simulation._dynamics import NO_EXIT, ONGOING, Dynamics, State
from adapt.simulation._population import Population, sample_population
from adapt.simulation._random import CounterRNG
from adapt.simulation._world import World

# Stream numbers for draws made once per episode (offset past the population's streams).
(
    _CHOICE,
    _PROGRESS,
    _JUMP,
    _BACK,
    _DURATION,
    _GAP,
    _OVERLAP,
    _OVERLAP_AT,
    _HOURS,
    _SHOCK,
    _EXIT,
    _EXIT_KIND,
    _ADMIN,
) = range(100, 113)

Chooser = Callable[["DecisionContext"], np.ndarray]


@dataclass
class DecisionContext:
    """What a policy is handed at one round of decisions (rows: persons deciding now)."""

    rows: np.ndarray  # positions in the population
    episode_no: np.ndarray
    state: State
    population: Population
    available: np.ndarray  # (rows, interventions) bool
    history: EpisodeRecord


@dataclass
class EpisodeRecord:
    """Episodes as parallel arrays, in the order they were resolved."""

    row: list = field(default_factory=list)
    episode_no: list = field(default_factory=list)
    intervention: list = field(default_factory=list)
    start: list = field(default_factory=list)
    end: list = field(default_factory=list)
    hours: list = field(default_factory=list)
    step_before: list = field(default_factory=list)
    step_after: list = field(default_factory=list)

    def append(self, **arrays) -> None:
        for name, values in arrays.items():
            getattr(self, name).append(values)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            name: (np.concatenate(values) if values else np.array([], dtype=np.int64))
            for name, values in vars(self).items()
        }


@dataclass
class Simulated:
    """Raw result of one simulated slice of persons, before it becomes tables."""

    population: Population
    episodes: dict[str, np.ndarray]
    exit_day: np.ndarray  # -1 while ongoing at the data cut
    exit_reason: np.ndarray
    truth: dict[str, np.ndarray] | None


def simulate_slice(
    world: World,
    seed: int,
    index: np.ndarray,
    chooser: Chooser | None = None,
    record_truth: bool = True,
    data_cut: bool = True,
) -> Simulated:
    """Simulate the persons with global indices `index` from entry to exit.

    `chooser` picks an intervention index per deciding person; without it the caseworkers'
    behaviour policy decides. Random numbers are addressed by (person, stream, episode), so a
    person's world is the same whatever slice or policy it is simulated in.
    """
    rng = CounterRNG(seed)
    dyn = Dynamics(world)
    pop = sample_population(world, rng, index)
    n = len(pop)
    state = State.at_entry(world, pop)
    cal = world.params["calendar"]
    max_episodes = int(cal["max_episodes"])

    record, truth = EpisodeRecord(), EpisodeRecord()
    exit_reason = np.full(n, NO_EXIT)
    last_start = np.zeros(n, np.int64)
    last_end = np.zeros(n, np.int64)
    max_end = np.zeros(n, np.int64)
    ended_by_intervention = np.zeros((n, len(world.interventions)), np.int64)
    active = np.arange(n)

    for k in range(1, max_episodes + 1):
        if len(active) == 0:
            break
        idx = pop.index[active]
        sub_pop, sub_state = _take(pop, active), state.take(active)
        available = world.available[sub_pop.region]
        p_true = dyn.progress_probabilities(sub_pop, sub_state)

        if chooser is None:
            chosen = draw_behaviour(dyn, rng, idx, k, sub_pop, sub_state)
        else:
            context = DecisionContext(
                active, np.full(len(active), k), sub_state, sub_pop, available, record
            )
            chosen = np.asarray(chooser(context), dtype=np.int64)
            _check_choices(chosen, available, pop.index[active], k)

        if record_truth:
            r, a = np.nonzero(available)
            truth.append(
                row=active[r],
                episode_no=np.full(len(r), k, np.int8),
                intervention=a.astype(np.int8),
                hours=p_true[r, a].astype(np.float32),
            )

        p_chosen = p_true[np.arange(len(active)), chosen]
        step = sub_state.step
        progressed, new_step = draw_step(dyn, rng, idx, k, sub_pop, sub_state, chosen, p_chosen)
        start, end, hours = draw_calendar(
            dyn,
            rng,
            idx,
            k,
            sub_pop,
            chosen,
            sub_state.last,
            last_start[active],
            last_end[active],
            ended_by_intervention[active],
        )
        ended_by_intervention[active, chosen] = end

        record.append(
            row=active,
            episode_no=np.full(len(active), k, np.int8),
            intervention=chosen.astype(np.int8),
            start=start,
            end=end,
            hours=hours,
            step_before=step.astype(np.int8),
            step_after=new_step.astype(np.int8),
        )

        sub_state_after = sub_state
        dyn.update(
            sub_state_after,
            chosen,
            progressed,
            new_step,
            health_shock(world, rng, idx, k),
            sub_pop,
        )
        _put(state, active, sub_state_after)
        last_start[active], last_end[active] = start, end
        max_end[active] = np.maximum(max_end[active], end)

        reason = dyn.exit_reasons(
            sub_pop,
            sub_state_after,
            chosen,
            max_end[active],
            k == max_episodes,
            rng.uniform(idx, _EXIT, k),
            rng.uniform(idx, _EXIT_KIND, k),
        )
        exit_reason[active] = reason
        active = active[reason == NO_EXIT]

    admin = np.floor(rng.uniform(pop.index, _ADMIN) * 2 * world.params["exits"]["exit_admin_days"])
    exit_day = max_end + admin.astype(np.int64)
    episodes = record.arrays()
    truth_arrays = truth.arrays() if record_truth else None
    if truth_arrays is not None:
        truth_arrays["p_progress"] = truth_arrays.pop("hours")
        for unused in ("start", "end", "step_before", "step_after"):
            truth_arrays.pop(unused)

    if data_cut:
        cut = np.floor(cal["window_days"] - pop.entry_offset).astype(np.int64)
        ongoing = exit_day > cut
        exit_reason = np.where(ongoing, ONGOING, exit_reason)
        exit_day = np.where(ongoing, -1, exit_day)
        episodes, kept = _keep_finished_prefix(episodes, cut, n)
        if truth_arrays is not None:
            keep = truth_arrays["episode_no"] <= kept[truth_arrays["row"]]
            truth_arrays = {k: v[keep] for k, v in truth_arrays.items()}
    return Simulated(pop, episodes, exit_day, exit_reason, truth_arrays)


# -- one episode's draws, shared by the simulator and the oracle's closed-loop values -------------
# `k` is the episode number, a scalar or one per person: it addresses the random numbers.


def draw_behaviour(dyn: Dynamics, rng: CounterRNG, idx, k, pop: Population, s: State):
    """The caseworkers' choice, drawn from their true probabilities."""
    return rng.choice(idx, _CHOICE, dyn.behaviour_probabilities(pop, s), episode=k)


def draw_step(dyn: Dynamics, rng: CounterRNG, idx, k, pop, s: State, chosen, p_chosen):
    """(progressed, new step) of the episodes, from the progress, jump and step-back draws."""
    outcome = dyn.step_outcomes(pop, s, chosen, p_chosen)
    return outcome.realise(
        rng.uniform(idx, _PROGRESS, k), rng.uniform(idx, _JUMP, k), rng.uniform(idx, _BACK, k)
    )


def draw_calendar(
    dyn: Dynamics, rng: CounterRNG, idx, k, pop, chosen, previous, last_start, last_end, ended_by
):
    """Start day, end day and hours of the episodes.

    `previous` is the last intervention (-1 before the first), `last_start`/`last_end` the days
    of the last episode and `ended_by` (persons, interventions) the day each intervention last
    ended, all as they stand before these episodes.
    """
    ep = dyn.world.params["episodes"]
    days = dyn.durations(pop, chosen, rng.normal(idx, _DURATION, k))
    gap = np.floor(-ep["gap_mean_days"] * np.log(rng.uniform(idx, _GAP, k))).astype(np.int64)
    # Coordination may run alongside employment support or work training.
    prev = np.maximum(previous, 0)
    pair = (previous >= 0) & (
        (dyn.coordination[prev] & dyn.employment_ward[chosen])
        | (dyn.employment_ward[prev] & dyn.coordination[chosen])
    )
    overlap = pair & (rng.uniform(idx, _OVERLAP, k) < ep["overlap_probability"])
    span = last_end - last_start
    inside = last_start + np.floor(span * (0.2 + 0.5 * rng.uniform(idx, _OVERLAP_AT, k)))
    start = np.where(k == 1, 0, np.where(overlap, inside.astype(np.int64), last_end + gap))
    # An intervention never runs twice at once for one person.
    start = np.maximum(start, ended_by[np.arange(len(chosen)), chosen])
    end = start + days
    return start, end, dyn.hours(pop, chosen, days, rng.normal(idx, _HOURS, k))


def health_shock(world: World, rng: CounterRNG, idx, k) -> np.ndarray:
    return world.params["latent"]["health_shock_sd"] * rng.normal(idx, _SHOCK, k)


def _keep_finished_prefix(episodes: dict, cut: np.ndarray, n: int):
    """Keep, per person, the episodes 1..m that all ended by the data cut."""
    finished = episodes["end"] <= cut[episodes["row"]]
    first_unfinished = np.full(n, 127)
    np.minimum.at(first_unfinished, episodes["row"][~finished], episodes["episode_no"][~finished])
    kept = first_unfinished - 1
    keep = episodes["episode_no"] <= kept[episodes["row"]]
    return {k: v[keep] for k, v in episodes.items()}, kept


def _check_choices(chosen: np.ndarray, available: np.ndarray, person: np.ndarray, k: int) -> None:
    if chosen.shape != (len(available),):
        raise ValueError(f"policy returned {chosen.shape} choices for {len(available)} decisions")
    bad = (chosen < 0) | (chosen >= available.shape[1])
    bad[~bad] = ~available[np.flatnonzero(~bad), chosen[~bad]]
    if bad.any():
        raise ValueError(
            f"policy chose interventions not offered in the person's region at "
            f"episode {k} for {bad.sum()} persons (global indices {person[bad][:10].tolist()})"
        )


def _take(pop: Population, rows: np.ndarray) -> Population:
    return Population(**{f: getattr(pop, f)[rows] for f in pop.__dataclass_fields__})


def _put(state: State, rows: np.ndarray, sub: State) -> None:
    for f in state.__dataclass_fields__:
        getattr(state, f)[rows] = getattr(sub, f)

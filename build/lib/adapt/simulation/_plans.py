"""The oracle's truth for k-step plans: exact expected steps gained, and the best plans.

A plan is a sequence of k interventions given to a person from a start state, with exits
switched off: the person goes through all k episodes (step 5 is the top and stays). Its value is
E[step after k episodes] - step at the start, under the true dynamics, with each episode's health
shock at its mean 0.

For a fixed plan, everything in the state except the step and the readiness gained on
progressing is known in advance (families done, last two, episode count, health). So the
distribution of outcomes is a table over (step, number of progressions) per start, which keeps
the exact expectation small: at most 6 x (k + 1) cells per start, whatever k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adapt.simulation._dynamics import Dynamics, State, StepOutcomes
from adapt.simulation._engine import _take
from adapt.simulation._starts import StartStates

N_STEPS = 6  # steps 0..5
CELL_BUDGET = 150_000  # outcome cells evaluated at once (bounds memory)
DEFAULT_BEAM = 16  # plans kept per start and depth when k > 3
_PROGRESSED = np.array(StepOutcomes.PROGRESSED)


@dataclass
class _Nodes:
    """Plan prefixes under evaluation: one row per (start, prefix)."""

    start: np.ndarray  # row in the StartStates
    state: State  # what all outcomes share; readiness without the gains for progressing
    used: np.ndarray  # (nodes, interventions) bool: in the history or in the prefix
    prefix: np.ndarray  # (nodes, depth) intervention indices
    dist: np.ndarray  # (nodes, 6, k + 1): P(step, progressions so far)

    def __len__(self) -> int:
        return len(self.start)

    def take(self, rows: np.ndarray) -> _Nodes:
        return _Nodes(
            self.start[rows],
            self.state.take(rows),
            self.used[rows],
            self.prefix[rows],
            self.dist[rows],
        )


def _root(start: StartStates, k: int) -> _Nodes:
    n = len(start)
    dist = np.zeros((n, N_STEPS, k + 1))
    dist[np.arange(n), start._state.step, 0] = 1.0
    rows = np.arange(n)
    return _Nodes(rows, start._state.take(rows), start._done.copy(), np.zeros((n, 0), int), dist)


def _chunks(nodes: _Nodes):
    """Slices of nodes whose outcome cells fit the budget."""
    per_node = max(1, int((nodes.dist > 0).sum(axis=(1, 2)).max(initial=1)))
    size = max(1, CELL_BUDGET // per_node)
    for lo in range(0, len(nodes), size):
        yield np.arange(lo, min(lo + size, len(nodes)))


def _one_step(dyn: Dynamics, start: StartStates, nodes: _Nodes, arms, distribution: bool):
    """Give each node's outcome cells one more episode with each of its `arms` (nodes, m).

    Returns the expected step afterwards, (nodes, m), and, if `distribution`, the table of
    outcomes afterwards, (nodes, m, 6, k + 1).
    """
    m, k1 = arms.shape[1], nodes.dist.shape[2]
    gain = dyn.world.params["dynamics"]["readiness_gain_on_progress"]
    node, step, prog = np.nonzero(nodes.dist > 0)
    weight = nodes.dist[node, step, prog]
    state = nodes.state.take(node)
    state.step = step
    state.readiness = state.readiness + gain * prog
    pop = _take(start._population, nodes.start[node])
    chosen = arms[node]
    p = np.take_along_axis(dyn.progress_probabilities(pop, state), chosen, axis=1)
    probs, steps = dyn.step_outcomes(pop, state, chosen, p).probabilities()  # (4, cells, m)
    column = node[:, None] * m + np.arange(m)[None, :]
    expected = np.bincount(
        column.ravel(),
        (weight[:, None] * (probs * steps).sum(axis=0)).ravel(),
        minlength=len(nodes) * m,
    ).reshape(len(nodes), m)
    if not distribution:
        return expected, None
    after = prog[None, :, None] + _PROGRESSED[:, None, None]
    # A step back from 0 has probability 0; clip so the index stays valid.
    cell = (column[None] * N_STEPS + np.clip(steps, 0, N_STEPS - 1)) * k1 + after
    size = len(nodes) * m * N_STEPS * k1
    table = np.bincount(cell.ravel(), (weight[None, :, None] * probs).ravel(), minlength=size)
    return expected, table.reshape(len(nodes), m, N_STEPS, k1)


def _evaluate(dyn, start, nodes, arms, distribution=False):
    """`_one_step` in chunks of nodes, so memory stays bounded."""
    parts = [
        _one_step(dyn, start, nodes.take(rows), arms[rows], distribution) for rows in _chunks(nodes)
    ]
    expected = np.concatenate([e for e, _ in parts])
    table = np.concatenate([t for _, t in parts]) if distribution else None
    return expected, table


def _extend(dyn: Dynamics, start: StartStates, nodes: _Nodes, arms, allowed) -> _Nodes:
    """Each node followed by each of its `arms` (nodes, m) where `allowed` (nodes, m).

    The children keep their parents' order, and within a parent the order of `arms`.
    """
    children = []
    for rows in _chunks(nodes):
        part = nodes.take(rows)
        _, table = _one_step(dyn, start, part, arms[rows], True)
        parent, column = np.nonzero(allowed[rows])
        arm = arms[rows][parent, column]
        state = part.state.take(parent)
        # The deterministic part of the update; the progress gain lives in the table's cells.
        dyn.update(
            state,
            arm,
            np.zeros(len(arm), bool),
            state.step,
            np.zeros(len(arm)),
            _take(start._population, part.start[parent]),
        )
        used = part.used[parent].copy()
        used[np.arange(len(arm)), arm] = True
        children.append(
            _Nodes(
                part.start[parent],
                state,
                used,
                np.column_stack([part.prefix[parent], arm]),
                table[parent, column],
            )
        )
    return _Nodes(
        *(
            np.concatenate([getattr(c, f) for c in children])
            if f != "state"
            else State(
                *(
                    np.concatenate([getattr(c.state, g) for c in children])
                    for g in State.__dataclass_fields__
                )
            )
            for f in _Nodes.__dataclass_fields__
        )
    )


def _codes(dyn: Dynamics, start: StartStates, plans) -> np.ndarray:
    """Plans as intervention indices, refusing unknown or unoffered codes."""
    plans = np.asarray(plans, dtype=object)
    if plans.ndim != 2 or plans.shape[0] != len(start) or plans.shape[1] < 1:
        raise ValueError(
            f"plans must have one row per start ({len(start)}) and k >= 1 columns, "
            f"got shape {plans.shape}"
        )
    lookup = {c: i for i, c in enumerate(dyn.world.interventions)}
    unknown = sorted({str(c) for c in plans.ravel() if c not in lookup})
    if unknown:
        raise ValueError(f"plans name unknown interventions {unknown}")
    index = np.vectorize(lookup.__getitem__, otypes=[np.int64])(plans)
    offered = dyn.world.available[start._population.region]
    bad_row, bad_col = np.nonzero(~np.take_along_axis(offered, index, axis=1))
    if len(bad_row):
        r, c = bad_row[0], bad_col[0]
        raise ValueError(
            f"plan row {r} names {plans[r, c]!r}, which its region does not offer "
            f"({len(np.unique(bad_row))} rows have such interventions)"
        )
    return index


def plan_values(dyn: Dynamics, start: StartStates, plans) -> np.ndarray:
    """`Oracle.plan_values`: the exact expected steps gained by each row's plan."""
    index = _codes(dyn, start, plans)
    k = index.shape[1]
    nodes = _root(start, k)
    for j in range(k - 1):
        one = np.ones((len(nodes), 1), bool)
        # One child per node, so row i stays start i.
        nodes = _extend(dyn, start, nodes, index[:, j : j + 1], one)
    expected, _ = _evaluate(dyn, start, nodes, index[:, k - 1 :])
    return expected[:, 0] - start.step


def _candidates(dyn: Dynamics, start: StartStates, nodes: _Nodes, once: np.ndarray):
    """Per node, the interventions its region offers (padded to one width) and which may come next.

    Evaluating only what is offered, rather than the whole catalogue, saves about a third of the
    work. Padding repeats an offered intervention and is never allowed.
    """
    available = dyn.world.available
    width = available.sum(axis=1).max()
    arms = np.zeros((len(available), width), np.int64)
    real = np.zeros(arms.shape, bool)
    for r, offered in enumerate(available):
        codes = np.flatnonzero(offered)
        arms[r], real[r, : len(codes)] = codes[np.minimum(np.arange(width), len(codes) - 1)], True
    region = start._population.region[nodes.start]
    arms, real = arms[region], real[region]
    repeated = once[arms] & np.take_along_axis(nodes.used, arms, axis=1)
    return arms, real & ~repeated


def _best_per_start(starts: np.ndarray, score: np.ndarray, keep: int) -> np.ndarray:
    """Positions of the `keep` highest scores within each start (ties: first)."""
    order = np.lexsort((-score, starts))
    first = np.searchsorted(starts[order], starts[order], side="left")
    rank = np.arange(len(order)) - first
    return np.sort(order[(rank < keep) & np.isfinite(score[order])])


def best_plans(
    dyn: Dynamics,
    start: StartStates,
    k: int,
    repeatable: dict[str, bool] | None = None,
    beam_width: int | None = None,
):
    """`Oracle.best_plans`: the best k-step plan per start and its value."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    codes = dyn.world.interventions
    repeatable = repeatable or {}
    unknown = sorted(set(repeatable) - set(codes))
    if unknown:
        raise ValueError(f"repeatable names unknown interventions {unknown}")
    once = np.array([not repeatable.get(c, True) for c in codes])
    width = beam_width if beam_width is not None else (None if k <= 3 else DEFAULT_BEAM)

    nodes = _root(start, k)
    for _ in range(k - 1):
        nodes = _extend(dyn, start, nodes, *_candidates(dyn, start, nodes, once))
        if width is not None:
            # Keep the prefixes with the best one-step completion.
            arms, allowed = _candidates(dyn, start, nodes, once)
            ahead, _ = _evaluate(dyn, start, nodes, arms)
            ahead = np.where(allowed, ahead, -np.inf).max(axis=1)
            nodes = nodes.take(_best_per_start(nodes.start, ahead, width))
    arms, allowed = _candidates(dyn, start, nodes, once)
    expected, _ = _evaluate(dyn, start, nodes, arms)
    expected = np.where(allowed, expected, -np.inf)
    column = expected.argmax(axis=1)  # offered codes are in catalogue order: ties go first
    value = expected[np.arange(len(nodes)), column]
    last = arms[np.arange(len(nodes)), column]
    best = _best_per_start(nodes.start, value, 1)
    if len(best) != len(start) or not np.array_equal(nodes.start[best], np.arange(len(start))):
        missing = np.setdiff1d(np.arange(len(start)), nodes.start[best])
        raise ValueError(
            f"no {k}-step plan is allowed for start rows {missing[:10].tolist()}: too few "
            "offered interventions may be repeated"
        )
    plans = np.column_stack([nodes.prefix[best], last[best]])
    return np.array(codes, dtype=object)[plans], value[best] - start.step

"""The oracle: true progression probabilities, replayed histories and policy rollouts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapt.simulation._dynamics import Dynamics
from adapt.simulation._engine import DecisionContext, simulate_slice
from adapt.simulation._plans import best_plans, plan_values
from adapt.simulation._starts import StartStates, draw_start_states
from adapt.simulation._tables import person_index, to_arrow
from adapt.simulation._world import World

OBSERVED_PERSON_COLUMNS = (
    "person_id",
    "gender",
    "age",
    "region",
    "years_on_support",
    "income_source",
    "referral_source",
    "education",
    "born_abroad",
    "swedish_level",
    "mental_ill_health",
    "violence_exposure",
)
PROGRESS_EXITS = ("work", "studies", "work_preparatory")
REPLAY_MISMATCH = (
    "the episodes were not produced by this world and seed: replaying them does "
    "not give the recorded history"
)


@dataclass
class DecisionBatch:
    """What a policy sees when it decides: only what a caseworker could know then.

    Attributes
    ----------
    persons : DataFrame
        Covariates at entry of the persons deciding now, one row each (no exit columns).
    history : DataFrame
        Their earlier episodes, in the episodes table's columns.
    episode_no, step : ndarray
        The episode about to start and the step the person stands on.
    available : DataFrame
        Bool, one column per intervention: what the person's region offers.
    position : ndarray, optional
        In a k-step evaluation (`Oracle.closed_loop_values`), the position 1..k in the plan.
    """

    persons: pd.DataFrame
    history: pd.DataFrame
    episode_no: np.ndarray
    step: np.ndarray
    available: pd.DataFrame
    _context: DecisionContext
    position: np.ndarray | None = None


Policy = Callable[[DecisionBatch], Sequence[str]]


@dataclass
class Rollout:
    """Tables of a rollout and, per person, whether they ended in a step progression."""

    persons: pd.DataFrame
    episodes: pd.DataFrame
    truth: pd.DataFrame | None

    @property
    def progressed(self) -> pd.Series:
        return self.persons.set_index("person_id")["exit_reason"].isin(PROGRESS_EXITS)


class Oracle:
    """Ground truth of one simulated world and seed.

    Parameters
    ----------
    world : World, optional
        The world's parameters; the default world when omitted.
    seed : int
        The seed the data were (or will be) generated with.
    """

    def __init__(self, world: World | None = None, seed: int = 0):
        self.world = world or World.from_preset()
        self.seed = int(seed)
        self._dynamics = Dynamics(self.world)

    # -- rollouts ---------------------------------------------------------------------------------
    def rollout(
        self,
        policy: Policy | str = "behaviour",
        n_persons: int | None = None,
        person_indices: np.ndarray | None = None,
        data_cut: bool = False,
        truth: bool = False,
    ) -> Rollout:
        """Simulate persons under `policy`, with the same random numbers whatever the policy.

        `policy` is ``"behaviour"`` (the caseworkers) or a callable from a `DecisionBatch` to one
        intervention code per row. Two rollouts over the same persons differ only by the policy,
        so their outcomes can be compared person by person.
        """
        index = self._indices(n_persons, person_indices)
        chooser = None if policy == "behaviour" else self._chooser(policy, index)
        sim = simulate_slice(
            self.world, self.seed, index, chooser=chooser, record_truth=truth, data_cut=data_cut
        )
        frames = {k: t.to_pandas() for k, t in to_arrow(self.world, sim).items()}
        frames["persons"]["exit_day"] = frames["persons"]["exit_day"].astype("Int64")
        return Rollout(frames["persons"], frames["episodes"], frames.get("truth"))

    def compare(
        self, policy_a: Policy | str, policy_b: Policy | str, n_persons: int = 10_000
    ) -> dict[str, float]:
        """Paired difference in the share ending in a step progression, a minus b."""
        a = self.rollout(policy_a, n_persons).progressed.astype(float)
        b = self.rollout(policy_b, n_persons).progressed.astype(float)
        diff = (a - b).to_numpy()
        return {
            "value_a": float(a.mean()),
            "value_b": float(b.mean()),
            "difference": float(diff.mean()),
            "standard_error": float(diff.std(ddof=1) / np.sqrt(len(diff))),
        }

    def behaviour_policy(self, seed: int = 0) -> Policy:
        """The caseworkers' policy as a callable, drawing with its own random numbers."""
        rng = np.random.default_rng(seed)
        interventions = np.array(self.world.interventions)

        def caseworker(batch: DecisionBatch) -> np.ndarray:
            ctx = batch._context
            probs = self._dynamics.behaviour_probabilities(ctx.population, ctx.state)
            u = rng.random(len(probs))[:, None]
            return interventions[
                (u > np.cumsum(probs, axis=1)).sum(axis=1).clip(0, len(interventions) - 1)
            ]

        return caseworker

    def greedy_policy(self) -> Policy:
        """The oracle's one-step policy: the offered intervention with the largest true expected
        step change for the next episode (closed loop, it sees the true state each time)."""
        dyn = self._dynamics
        interventions = np.array(self.world.interventions)

        def greedy(batch: DecisionBatch) -> np.ndarray:
            ctx = batch._context
            p = dyn.progress_probabilities(ctx.population, ctx.state)
            arms = np.broadcast_to(np.arange(p.shape[1]), p.shape)
            probs, steps = dyn.step_outcomes(ctx.population, ctx.state, arms, p).probabilities()
            gain = (probs * (steps - ctx.state.step[None, :, None])).sum(axis=0)
            return interventions[np.where(ctx.available, gain, -np.inf).argmax(axis=1)]

        return greedy

    # -- truth ------------------------------------------------------------------------------------
    def truth_for(self, persons: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
        """Replay recorded histories and return the truth at every recorded decision point.

        The persons must come from this world and seed; a history the world would not have
        produced (another seed, edited steps) raises ValueError.
        """
        _, tables = self._replay(persons, episodes)
        keys = episodes[["person_id", "episode_no"]]
        return tables["truth"].merge(keys, on=["person_id", "episode_no"]).reset_index(drop=True)

    def _replay(
        self,
        persons: pd.DataFrame,
        episodes: pd.DataFrame,
        watch: Callable[[DecisionContext], None] | None = None,
    ):
        """Re-simulate `persons` choosing what `episodes` records; check the outcomes agree.

        `watch`, if given, sees every decision context of the replay (rows index `persons`).
        Returns the simulated slice and its tables (pandas).
        """
        index = person_index(persons["person_id"])
        position = pd.Series(np.arange(len(index)), index=persons["person_id"].to_numpy())
        k_max = int(self.world.params["calendar"]["max_episodes"])
        codes = {c: i for i, c in enumerate(self.world.interventions)}
        recorded = np.full((len(index), k_max + 1), -1)
        rows = position.loc[episodes["person_id"].to_numpy()].to_numpy()
        recorded[rows, episodes["episode_no"].to_numpy()] = (
            episodes["intervention"].map(codes).to_numpy()
        )

        def replay(ctx: DecisionContext) -> np.ndarray:
            if watch is not None:
                watch(ctx)
            chosen = recorded[ctx.rows, ctx.episode_no]
            taken = chosen >= 0
            if not ctx.available[np.flatnonzero(taken), chosen[taken]].all():
                raise ValueError(REPLAY_MISMATCH)
            return np.where(taken, chosen, ctx.available.argmax(axis=1))

        sim = simulate_slice(
            self.world, self.seed, index, chooser=replay, record_truth=True, data_cut=False
        )
        tables = {k: t.to_pandas() for k, t in to_arrow(self.world, sim).items()}
        replayed = tables["episodes"].merge(
            episodes, on=["person_id", "episode_no"], suffixes=("", "_recorded")
        )
        if (
            len(replayed) != len(episodes)
            or (replayed["step_after"] != replayed["step_after_recorded"]).any()
        ):
            raise ValueError(REPLAY_MISMATCH)
        return sim, tables

    # -- k-step plans ----------------------------------------------------------------------------
    def start_states(
        self, persons: pd.DataFrame, episodes: pd.DataFrame, seed: int = 0
    ) -> StartStates:
        """The true state of each person just before one of their recorded episodes.

        `persons` and `episodes` must be tables this world and seed produced (as for
        `truth_for`; other histories raise ValueError). For each person with at least one
        recorded episode, an episode number n is drawn uniformly from 1..n_recorded with
        ``numpy.random.default_rng(seed)``; the start is the state after episodes 1..n-1,
        exactly as the simulator had it.
        """
        return draw_start_states(self, persons, episodes, seed)

    def progress_probabilities(self, start: StartStates) -> pd.DataFrame:
        """The true probability that an episode of each intervention, started now, progresses:
        one row per start, one column per intervention code (NaN where not offered)."""
        p = self._dynamics.progress_probabilities(start._population, start._state)
        frame = pd.DataFrame(p, columns=list(self.world.interventions))
        return frame.where(start.available[frame.columns].to_numpy())

    def plan_values(self, start: StartStates, plans) -> np.ndarray:
        """Exact expected steps gained by following each row's plan from its start.

        Parameters
        ----------
        start : StartStates
            From `start_states`.
        plans : array-like of str, shape (len(start), k)
            Intervention codes, in order. Each must be offered in the person's region.

        Returns
        -------
        ndarray
            E[step after k episodes] - step at the start, under the true dynamics with exits
            switched off (step 5 is the top and stays) and each health shock at its mean 0.
            The expectation is exact over progressing (jumps included), stepping back and
            staying.
        """
        return plan_values(self._dynamics, start, plans)

    def open_loop_values(self, start: StartStates, plans) -> np.ndarray:
        """The value of fixed plans: the same as `plan_values`."""
        return self.plan_values(start, plans)

    def best_plans(
        self,
        start: StartStates,
        k: int,
        repeatable: dict[str, bool] | None = None,
        beam_width: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The best k-step plan per start under the true dynamics, and its `plan_values` value.

        For k <= 3 the search is exhaustive over the interventions each region offers. For
        k > 3 it is a beam search: after each position it keeps, per start, the `beam_width`
        prefixes (default 16) with the best one-step completion, so the result may fall short of
        the optimum. Pass `beam_width` to use a beam for k <= 3 as well.

        `repeatable` maps codes to bool; a code mapped to False appears at most once in a plan,
        and not at all if the person's history already has it. Codes not named may repeat.
        Ties go to the intervention listed first in the catalogue.

        Returns
        -------
        plans : ndarray of str, shape (len(start), k)
        values : ndarray, shape (len(start),)
        """
        return best_plans(self._dynamics, start, k, repeatable, beam_width)

    def closed_loop_values(
        self, start: StartStates, policy: Policy | str, k: int, seed: int | None = None
    ) -> np.ndarray:
        """Monte-Carlo steps gained per start over k episodes, with `policy` deciding each.

        `policy` is ``"behaviour"`` (the caseworkers' true choice probabilities, drawn with the
        simulator's choice stream) or a callable from a `DecisionBatch` to one code per row; the
        batch's `position` holds 1..k and its history the recorded episodes before the start
        plus those simulated so far. Outcomes, durations, hours and health shocks follow the
        true dynamics; exits are switched off.

        Draws are counter-based random numbers for episodes n..n+k-1 of each person, so two
        policies evaluated with the same `seed` meet the same draws (common random numbers).
        By default (`seed` None) they are the simulator's own draws for this oracle's seed:
        the behaviour policy then reproduces the recorded episodes. Those draws are *not*
        independent of how the starts were picked: episode n is drawn from the episodes a person
        has on record, and how many that is depends on how episode n turned out (progress makes
        an early exit, hence a short history, more likely). Averaged over starts, values with
        the default draws are therefore biased (upward in the default world). Pass any other
        `seed` for fresh draws, whose average is an unbiased estimate of the expected value.
        """
        from adapt.simulation._closed_loop import closed_loop  # it needs DecisionBatch

        return closed_loop(self, start, policy, k, seed)[0]

    # -- helpers ----------------------------------------------------------------------------------
    @staticmethod
    def _indices(n_persons, person_indices) -> np.ndarray:
        if (n_persons is None) == (person_indices is None):
            raise ValueError("give exactly one of n_persons and person_indices")
        if person_indices is not None:
            return np.asarray(person_indices, dtype=np.int64)
        if isinstance(n_persons, bool) or not isinstance(n_persons, int) or n_persons < 1:
            raise ValueError(f"n_persons must be a positive integer, got {n_persons!r}")
        return np.arange(n_persons)

    def _chooser(self, policy: Policy, index: np.ndarray):
        if not callable(policy):
            raise TypeError(f"policy must be 'behaviour' or a callable, got {policy!r}")
        world, codes = self.world, {c: i for i, c in enumerate(self.world.interventions)}
        people = None

        def choose(ctx: DecisionContext) -> np.ndarray:
            nonlocal people
            if people is None:
                people = _observed_persons(world, ctx.population)
            batch = DecisionBatch(
                persons=people.iloc[ctx.rows].reset_index(drop=True),
                history=_history(world, people, ctx),
                episode_no=ctx.episode_no,
                step=ctx.state.step.copy(),
                available=pd.DataFrame(ctx.available, columns=list(world.interventions)),
                _context=ctx,
            )
            chosen = list(policy(batch))
            unknown = sorted({c for c in chosen if c not in codes})
            if unknown:
                raise ValueError(f"policy returned unknown interventions {unknown}")
            return np.array([codes[c] for c in chosen], dtype=np.int64)

        return choose


def _observed_persons(world: World, population) -> pd.DataFrame:
    from adapt.simulation._engine import Simulated

    n = len(population)
    stub = Simulated(population, {}, np.full(n, -1), np.zeros(n, np.int64), None)
    stub.episodes = {
        k: np.array([], dtype=np.int64)
        for k in (
            "row",
            "episode_no",
            "intervention",
            "start",
            "end",
            "hours",
            "step_before",
            "step_after",
        )
    }
    persons = to_arrow(world, stub)["persons"].to_pandas()
    return persons[list(OBSERVED_PERSON_COLUMNS)]


def _history(world: World, people: pd.DataFrame, ctx: DecisionContext) -> pd.DataFrame:
    e = ctx.history.arrays()
    if len(e["row"]) == 0:
        e = {k: np.array([], dtype=np.int64) for k in e}
    keep = np.isin(e["row"], ctx.rows)
    return pd.DataFrame(
        {
            "person_id": people["person_id"].to_numpy()[e["row"][keep]],
            "episode_no": e["episode_no"][keep].astype(np.int64),
            "intervention": np.array(world.interventions, dtype=object)[
                e["intervention"][keep].astype(np.int64)
            ],
            "start_day": e["start"][keep],
            "end_day": e["end"][keep],
            "hours": e["hours"][keep],
            "step_before": e["step_before"][keep].astype(np.int64),
            "step_after": e["step_after"][keep].astype(np.int64),
        }
    )

"""The oracle's truth for k-step plans: start states, exact values, best plans, closed loop."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapt.simulation import Oracle, StartStates, World, simulate
from adapt.simulation._closed_loop import closed_loop
from adapt.simulation._dynamics import StepOutcomes

SEED = 21


@pytest.fixture(scope="module")
def still():
    """A world without health shocks, where the exact plan value is the closed-loop mean."""
    world = World.from_preset(overrides={"latent.health_shock_sd": 0.0})
    data = simulate(1500, seed=SEED, world=world, truth=False)
    oracle = Oracle(world, seed=SEED)
    return oracle, data, oracle.start_states(data["persons"], data["episodes"], seed=3)


@pytest.fixture(scope="module")
def default():
    data = simulate(400, seed=SEED, truth=False)
    oracle = Oracle(seed=SEED)
    return oracle, data, oracle.start_states(data["persons"], data["episodes"], seed=0)


def _random_plans(start: StartStates, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    codes = start.available.columns.to_numpy()
    offered = start.available.to_numpy()
    return np.array([rng.choice(codes[offered[i]], size=k) for i in range(len(start))])


def _fixed(plans):
    return lambda batch: plans[np.arange(len(plans)), batch.position - 1]


# -- start states ---------------------------------------------------------------------------------
def test_start_states_are_the_recorded_states_before_a_drawn_episode(default):
    oracle, data, start = default
    episodes = data["episodes"]
    has = episodes["person_id"].unique()
    assert isinstance(start, StartStates) and len(start) == len(has)
    assert list(start.available.columns) == list(oracle.world.interventions)
    at = start.persons[["person_id"]].assign(episode_no=start.episode_no)
    recorded = at.merge(episodes, on=["person_id", "episode_no"], how="left")
    assert (recorded["step_before"].to_numpy() == start.step).all()
    last = start.history.groupby("person_id")["episode_no"].max()
    expected = pd.Series(start.episode_no - 1, index=start.persons["person_id"])
    pd.testing.assert_series_equal(
        last.reindex(expected.index).fillna(0).astype(int), expected, check_names=False
    )
    assert "exit_reason" not in start.persons and "p_progress" not in start.history


def test_start_states_are_reproducible_and_refuse_foreign_histories(default):
    oracle, data, start = default
    again = oracle.start_states(data["persons"], data["episodes"], seed=0)
    other = oracle.start_states(data["persons"], data["episodes"], seed=1)
    assert np.array_equal(start.episode_no, again.episode_no)
    pd.testing.assert_frame_equal(start.history, again.history)
    assert not np.array_equal(start.episode_no, other.episode_no)
    with pytest.raises(ValueError, match="not produced by this world and seed"):
        Oracle(seed=SEED + 1).start_states(data["persons"], data["episodes"])


def test_take_keeps_rows_together(default):
    _, _, start = default
    part = start.take(np.array([4, 1]))
    assert len(part) == 2 and list(part.step) == [start.step[4], start.step[1]]
    assert set(part.history["person_id"]) <= set(part.persons["person_id"])


# -- exact plan values ----------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 3])
def test_plan_values_are_the_mean_of_closed_loop_values(still, k):
    oracle, _, start = still
    plans = _random_plans(start, k, seed=k)
    exact = oracle.plan_values(start, plans)
    # Fresh draws (another seed): the simulator's own draws are not independent of the starts.
    runs = np.array(
        [oracle.closed_loop_values(start, _fixed(plans), k, seed=1000 + r) for r in range(4)]
    )
    diff = runs.mean(axis=0) - exact
    assert abs(diff.mean()) < 4 * diff.std(ddof=1) / np.sqrt(len(diff))


def test_open_loop_values_are_plan_values(default):
    oracle, _, start = default
    plans = _random_plans(start, 2, seed=0)
    assert np.array_equal(oracle.open_loop_values(start, plans), oracle.plan_values(start, plans))


def test_bad_plans_are_refused(default):
    oracle, _, start = default
    plans = _random_plans(start, 2, seed=0)
    plans[3, 1] = "yoga"
    with pytest.raises(ValueError, match="unknown interventions \\['yoga'\\]"):
        oracle.plan_values(start, plans)
    row = int(np.flatnonzero(~start.available["boston_model"].to_numpy())[0])
    plans = _random_plans(start, 2, seed=0)
    plans[row, 0] = "boston_model"
    with pytest.raises(ValueError, match=f"plan row {row} names 'boston_model'"):
        oracle.plan_values(start, plans)
    with pytest.raises(ValueError, match="one row per start"):
        oracle.plan_values(start, plans[:5])


# -- best plans -----------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [2, 3])
def test_best_plans_beat_random_plans_and_the_caseworkers(default, k):
    oracle, _, start = default
    plans, values = oracle.best_plans(start, k)
    assert plans.shape == (len(start), k)
    np.testing.assert_allclose(oracle.plan_values(start, plans), values, atol=1e-12)
    for seed in range(3):
        assert (values >= oracle.plan_values(start, _random_plans(start, k, seed)) - 1e-12).all()
    behaviour = oracle.closed_loop_values(start, "behaviour", k, seed=7)
    assert values.mean() > behaviour.mean()


def test_best_plans_are_the_best_of_every_plan(default):
    oracle, _, start = default
    few = start.take(np.arange(6))
    _, values = oracle.best_plans(few, 2)
    for i in range(len(few)):
        one = few.take([i])
        offered = one.available.columns[one.available.iloc[0].to_numpy()]
        plans = np.array(list(itertools.product(offered, repeat=2)))
        every = oracle.plan_values(one.take(np.zeros(len(plans), int)), plans)
        assert values[i] == pytest.approx(every.max(), abs=1e-12)


def test_one_step_best_plan_is_the_best_expected_step_change(default):
    oracle, _, start = default
    dyn, pop, state = oracle._dynamics, start._population, start._state
    p = dyn.progress_probabilities(pop, state)
    arms = np.tile(np.arange(dyn.n_interventions), (len(start), 1))
    probs, steps = dyn.step_outcomes(pop, state, arms, p).probabilities()
    change = (probs * steps).sum(axis=0) - start.step[:, None]
    change = np.where(start.available.to_numpy(), change, -np.inf)
    plans, values = oracle.best_plans(start, 1)
    assert (plans[:, 0] == np.array(oracle.world.interventions)[change.argmax(axis=1)]).all()
    np.testing.assert_allclose(values, change.max(axis=1))


def test_non_repeatable_interventions_appear_once_and_not_after_the_history(default):
    oracle, _, start = default
    free, _ = oracle.best_plans(start, 3)
    once = {c: False for c in ("supported_employment", "ips", "guidance", "digital_skills")}
    once |= {c: False for c in ("work_training_employer", "work_training_social_enterprise")}
    plans, values = oracle.best_plans(start, 3, repeatable=once | {"boston_model": True})
    done = start.history.groupby("person_id")["intervention"].agg(set)
    for pid, row in zip(start.persons["person_id"], plans, strict=True):
        limited = [c for c in row if c in once]
        assert len(set(limited)) == len(limited)
        assert not set(limited) & done.get(pid, set())
    assert any(len(set(row) & set(once)) < sum(c in once for c in row) for row in free)
    np.testing.assert_allclose(oracle.plan_values(start, plans), values, atol=1e-12)
    with pytest.raises(ValueError, match="unknown interventions"):
        oracle.best_plans(start, 2, repeatable={"yoga": False})
    # With nothing repeatable, long histories leave some persons no 3-step plan at all.
    with pytest.raises(ValueError, match="no 3-step plan is allowed for start rows"):
        oracle.best_plans(start, 3, repeatable={c: False for c in oracle.world.interventions})


def test_beam_search_for_longer_plans(default):
    oracle, _, start = default
    few = start.take(np.arange(40))
    plans, values = oracle.best_plans(few, 4, beam_width=4)
    np.testing.assert_allclose(oracle.plan_values(few, plans), values, atol=1e-12)
    assert (values >= oracle.plan_values(few, _random_plans(few, 4, 0)) - 1e-12).all()
    _, exhaustive = oracle.best_plans(few, 2)
    _, beam = oracle.best_plans(few, 2, beam_width=200)
    np.testing.assert_allclose(beam, exhaustive)


# -- closed loop ----------------------------------------------------------------------------------
def test_behaviour_with_the_simulators_draws_replays_the_record(default):
    oracle, data, start = default
    _, simulated = closed_loop(oracle, start, "behaviour", 3)
    columns = ["intervention", "start_day", "end_day", "hours", "step_before", "step_after"]
    both = simulated.merge(
        data["episodes"], on=["person_id", "episode_no"], suffixes=("", "_recorded")
    )
    assert len(both) > len(start)  # episodes n and beyond are on record for many
    for c in columns:
        assert (both[c].astype(str) == both[f"{c}_recorded"].astype(str)).all(), c


def test_closed_loop_uses_common_random_numbers_and_shows_the_past(default):
    oracle, _, start = default
    seen = []

    def first_offered(batch):
        seen.append((batch.position.copy(), batch.episode_no.copy(), batch.history.copy()))
        assert list(batch.persons.columns)[0] == "person_id" and "exit_day" not in batch.persons
        return batch.available.columns[batch.available.to_numpy().argmax(axis=1)]

    a = oracle.closed_loop_values(start, first_offered, 3, seed=5)
    b = oracle.closed_loop_values(start, first_offered, 3, seed=5)
    assert np.array_equal(a, b)
    assert [int(p[0]) for p, _, _ in seen[:3]] == [1, 2, 3]
    for _, episode_no, history in seen:
        last = history.groupby("person_id")["episode_no"].max()
        got = last.reindex(start.persons["person_id"]).fillna(0).to_numpy()
        assert np.array_equal(got, episode_no - 1)


def test_closed_loop_refuses_bad_choices(default):
    oracle, _, start = default
    with pytest.raises(ValueError, match="unknown interventions"):
        oracle.closed_loop_values(start, lambda b: ["yoga"] * len(b.step), 2)
    with pytest.raises(ValueError, match="not offered"):
        oracle.closed_loop_values(start, lambda b: ["boston_model"] * len(b.step), 2)


# -- the one step-outcome rule --------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    step=st.integers(0, 5),
    p=st.floats(0, 1),
    q=st.floats(0, 1),
    back=st.floats(0, 1),
    jump_to=st.integers(4, 5),
)
def test_step_outcome_probabilities_match_their_draws(step, p, q, back, jump_to):
    back = back if 0 < step < 5 else 0.0
    rule = StepOutcomes(*(np.array([x]) for x in (step, p, q, max(jump_to, step), back)))
    probs, steps = rule.probabilities()
    assert probs.sum() == pytest.approx(1.0) and (probs >= 0).all()
    # Draws on a grid of uniforms reproduce the probabilities.
    grid = (np.arange(40) + 0.5) / 40
    u1, u2, u3 = (g.ravel() for g in np.meshgrid(grid, grid, grid, indexing="ij"))
    one = lambda x: np.full(len(u1), x)  # noqa: E731
    draws = StepOutcomes(one(step), one(p), one(q), one(max(jump_to, step)), one(back))
    progressed, new_step = draws.realise(u1, u2, u3)
    for s in range(6):
        expected = probs[:, 0][steps[:, 0] == s].sum()
        assert (new_step == s).mean() == pytest.approx(expected, abs=0.08)
    assert progressed.mean() == pytest.approx(p, abs=0.03)


def test_the_oracles_greedy_policy_takes_the_best_next_step(default):
    oracle, _, start = default
    _, best = oracle.best_plans(start, 1)
    greedy = np.mean(
        [oracle.closed_loop_values(start, oracle.greedy_policy(), 1, seed=s) for s in range(8)],
        axis=0,
    )
    error = greedy.std(ddof=1) / np.sqrt(len(greedy))
    assert abs(greedy.mean() - best.mean()) < 4 * error + 0.01
    behaviour = oracle.closed_loop_values(start, "behaviour", 1, seed=1)
    assert greedy.mean() > behaviour.mean()

"""The simulator: determinism, availability, ground truth, oracle, presets, atomic output."""

import numpy as np
import pandas as pd
import pytest

from adapt.catalogue import load_catalogue
from adapt.contract import EXIT_REASONS
from adapt.simulation import Oracle, World, _generate, available_presets, generate, simulate


@pytest.fixture(scope="module")
def small():
    return simulate(4000, seed=11)


def _read(folder):
    return {t: pd.read_parquet(folder / t) for t in ("persons", "episodes", "truth")}


def test_same_data_whatever_chunk_size_or_workers(tmp_path):
    generate(tmp_path / "a", 3000, seed=5, chunk_size=3000)
    generate(tmp_path / "b", 3000, seed=5, chunk_size=701, workers=2)
    a, b = _read(tmp_path / "a"), _read(tmp_path / "b")
    for table in a:
        pd.testing.assert_frame_equal(a[table], b[table])


def test_in_memory_and_on_disk_agree(tmp_path, small):
    generate(tmp_path / "d", 4000, seed=11, chunk_size=1500)
    on_disk = _read(tmp_path / "d")
    for table in ("episodes", "truth"):
        pd.testing.assert_frame_equal(on_disk[table], small[table])
    pd.testing.assert_series_equal(
        on_disk["persons"]["exit_reason"], small["persons"]["exit_reason"]
    )


def test_seed_changes_the_data():
    a = simulate(500, seed=1, truth=False)["episodes"]
    b = simulate(500, seed=2, truth=False)["episodes"]
    assert not a.equals(b)


def test_no_episode_uses_an_intervention_its_region_does_not_offer(small):
    offered = load_catalogue().availability().stack()
    episodes = small["episodes"].merge(small["persons"][["person_id", "region"]], on="person_id")
    pairs = pd.MultiIndex.from_arrays([episodes["region"], episodes["intervention"]])
    assert offered.loc[pairs].all()
    truth = small["truth"].merge(small["persons"][["person_id", "region"]], on="person_id")
    assert offered.loc[pd.MultiIndex.from_arrays([truth["region"], truth["intervention"]])].all()


def test_histories_have_the_documented_shape(small):
    persons, episodes = small["persons"], small["episodes"]
    numbering = episodes.groupby("person_id")["episode_no"].agg(["min", "max", "size"])
    assert (numbering["min"] == 1).all() and (numbering["max"] == numbering["size"]).all()
    assert (episodes["end_day"] >= episodes["start_day"]).all()
    assert (
        episodes["step_before"].between(0, 5).all() and episodes["step_after"].between(0, 5).all()
    )
    steps_back = (episodes["step_after"] < episodes["step_before"]).mean()
    assert 0 < steps_back < 0.2
    ends = episodes.groupby("person_id")["end_day"].max()
    exited = persons.dropna(subset=["exit_day"]).set_index("person_id")
    assert (ends.reindex(exited.index).fillna(0) <= exited["exit_day"]).all()
    assert set(persons["exit_reason"]) <= set(EXIT_REASONS)
    assert persons["exit_day"].isna().equals(persons["exit_reason"] == "ongoing")


def test_coordination_overlaps_employment_support(small):
    e = small["episodes"].sort_values(["person_id", "episode_no"])
    prev_end = e.groupby("person_id")["end_day"].shift()
    overlapping = e[e["start_day"] < prev_end]
    assert len(overlapping) > 0
    assert overlapping["episode_no"].gt(1).all()


def test_truth_covers_every_decision_point_and_stays_out_of_the_data(small):
    truth, episodes = small["truth"], small["episodes"]
    chosen = episodes.merge(truth, on=["person_id", "episode_no", "intervention"], how="left")
    assert chosen["p_progress"].notna().all()
    assert truth["p_progress"].between(0, 1).all()
    assert "p_progress" not in small["persons"] and "p_progress" not in episodes
    per_point = truth.groupby(["person_id", "episode_no"]).size()
    assert len(per_point) == len(episodes)


def test_observed_progression_matches_the_truth(small):
    """Episodes progress as often as the true probabilities of what was chosen say."""
    chosen = small["episodes"].merge(small["truth"], on=["person_id", "episode_no", "intervention"])
    progressed = (chosen["step_after"] > chosen["step_before"]).astype(float)
    expected = chosen["p_progress"]
    se = np.sqrt((expected * (1 - expected)).sum()) / len(chosen)
    assert abs(progressed.mean() - expected.mean()) < 4 * se


def test_oracle_replays_the_recorded_truth(small):
    oracle = Oracle(seed=11)
    persons = small["persons"].iloc[:800]
    episodes = small["episodes"][small["episodes"]["person_id"].isin(persons["person_id"])]
    replayed = oracle.truth_for(persons, episodes)
    expected = small["truth"][small["truth"]["person_id"].isin(persons["person_id"])]
    pd.testing.assert_frame_equal(replayed, expected.reset_index(drop=True))


def test_oracle_refuses_histories_from_another_seed(small):
    persons = small["persons"].iloc[:300]
    episodes = small["episodes"][small["episodes"]["person_id"].isin(persons["person_id"])]
    with pytest.raises(ValueError, match="not produced by this world and seed"):
        Oracle(seed=12).truth_for(persons, episodes)


def test_rollout_of_the_behaviour_policy_reproduces_the_observed_rate():
    data = simulate(20_000, seed=3, truth=False)["episodes"]
    oracle = Oracle(seed=3)
    rolled = oracle.rollout(oracle.behaviour_policy(seed=99), n_persons=20_000, data_cut=True)
    observed = (data["step_after"] > data["step_before"]).mean()
    rate = (rolled.episodes["step_after"] > rolled.episodes["step_before"]).mean()
    se = np.sqrt(2 * observed * (1 - observed) / len(data))
    assert abs(rate - observed) < 4 * se
    assert not rolled.episodes["intervention"].equals(data["intervention"])


def test_rollouts_use_common_random_numbers():
    oracle = Oracle(seed=4)
    first = oracle.rollout("behaviour", n_persons=2000)
    again = oracle.rollout("behaviour", n_persons=2000)
    pd.testing.assert_frame_equal(first.episodes, again.episodes)
    same = oracle.compare("behaviour", "behaviour", n_persons=1000)
    assert same["difference"] == 0 and same["standard_error"] == 0


def test_a_better_policy_beats_the_caseworkers_and_a_worse_one_loses():
    oracle = Oracle(seed=8)

    def by_truth(best):
        def policy(batch):
            probs = oracle._dynamics.progress_probabilities(
                batch._context.population, batch._context.state
            )
            probs = np.where(batch.available.to_numpy(), probs, np.nan if best else np.inf)
            pick = (
                np.nanargmax(probs, axis=1)
                if best
                else np.argmin(np.nan_to_num(probs, nan=np.inf), axis=1)
            )
            return batch.available.columns[pick]

        return policy

    better = oracle.compare(by_truth(True), "behaviour", n_persons=3000)
    worse = oracle.compare(by_truth(False), "behaviour", n_persons=3000)
    assert better["difference"] > 3 * better["standard_error"]
    assert worse["difference"] < -3 * worse["standard_error"]


def test_policies_that_choose_what_is_not_offered_are_refused():
    oracle = Oracle(seed=1)
    with pytest.raises(ValueError, match="not offered"):
        oracle.rollout(lambda batch: ["boston_model"] * len(batch.step), n_persons=200)
    with pytest.raises(ValueError, match="unknown interventions"):
        oracle.rollout(lambda batch: ["yoga"] * len(batch.step), n_persons=50)


def test_policies_see_only_the_past():
    seen = []

    def policy(batch):
        seen.append((batch.episode_no.copy(), batch.history.copy(), batch.persons.columns))
        return batch.available.columns[batch.available.to_numpy().argmax(axis=1)]

    Oracle(seed=2).rollout(policy, n_persons=300)
    for episode_no, history, columns in seen:
        assert "exit_reason" not in columns and "exit_day" not in columns
        if len(history):
            assert history["episode_no"].max() < episode_no.max()
    assert len(seen) > 1


@pytest.mark.parametrize("preset", available_presets())
def test_every_preset_simulates(preset):
    data = simulate(300, seed=0, preset=preset)
    assert len(data["persons"]) == 300 and len(data["episodes"]) > 0


def test_planted_gender_bias_steers_women_away_from_employment_support():
    def share_women_in_se(world):
        d = simulate(8000, seed=6, world=world, truth=False)
        e = d["episodes"].merge(d["persons"][["person_id", "gender"]], on="person_id")
        employmentward = e["intervention"].isin(
            [
                "supported_employment",
                "ips",
                "work_training_social_enterprise",
                "work_training_employer",
            ]
        )
        return (
            employmentward[e["gender"] == "woman"].mean()
            - employmentward[e["gender"] == "man"].mean()
        )

    assert (
        share_women_in_se(World.from_preset("gender_bias"))
        < share_women_in_se(World.from_preset()) - 0.05
    )


def test_unknown_presets_and_parameters_are_named():
    with pytest.raises(ValueError, match="unknown world preset 'nope'"):
        World.from_preset("nope")
    with pytest.raises(KeyError, match="knobs.effect_size"):
        World.from_preset(overrides={"knobs.effect_size": 2})


def test_bad_sizes_and_seeds_are_refused():
    with pytest.raises(ValueError, match="n_persons"):
        simulate(0)
    with pytest.raises(ValueError, match="seed"):
        simulate(10, seed=-1)


def test_an_interrupted_run_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    calls = {"n": 0}
    real = _generate._write_chunk

    def failing(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(_generate, "_write_chunk", failing)
    with pytest.raises(KeyboardInterrupt):
        generate(tmp_path / "out", 1000, seed=1, chunk_size=400)
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_kept_unless_overwrite(tmp_path):
    generate(tmp_path / "out", 100, seed=1)
    with pytest.raises(FileExistsError, match="overwrite"):
        generate(tmp_path / "out", 100, seed=2)
    generate(tmp_path / "out", 120, seed=2, overwrite=True)
    assert len(pd.read_parquet(tmp_path / "out" / "persons")) == 120
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_generated_data_meet_the_contract(small):
    from adapt.contract import check_tables

    assert check_tables(small["persons"], small["episodes"], small["truth"]) == []


def test_the_default_world_has_no_last_two_effects():
    assert not World.from_preset().last_two.any()
    assert World.from_preset("order_pairs").last_two.any()


def test_last_two_keys_are_checked():
    with pytest.raises(ValueError, match="'coordination>yoga>guidance'"):
        World.from_preset(overrides={"progress.order.last_two": {"coordination>yoga>guidance": 1}})
    with pytest.raises(ValueError, match="three families"):
        World.from_preset(overrides={"progress.order.last_two": {"coordination>guidance": 1.0}})


def test_the_order_of_the_last_two_changes_the_truth():
    """Same families done, other order: only the order_pairs world tells them apart."""
    from adapt.simulation._dynamics import Dynamics, State
    from adapt.simulation._population import sample_population
    from adapt.simulation._random import CounterRNG

    def se_logit(world, first, second):
        dyn = Dynamics(world)
        pop = sample_population(world, CounterRNG(0), np.arange(50))
        state = State.at_entry(world, pop)
        codes = world.interventions
        for code in (first, second):
            chosen = np.full(len(pop), codes.index(code))
            dyn.update(state, chosen, np.zeros(len(pop), bool), state.step, np.zeros(len(pop)), pop)
        assert (state.previous_last == codes.index(first)).all()
        return dyn.progress_logits(pop, state)[:, codes.index("supported_employment")]

    pairs = World.from_preset("order_pairs")
    course, training = "mobilisation_course", "work_training_employer"
    gap = se_logit(pairs, course, training) - se_logit(pairs, training, course)
    np.testing.assert_allclose(gap, 1.2 + 0.8)
    plain = World.from_preset()
    np.testing.assert_allclose(
        se_logit(plain, course, training), se_logit(plain, training, course), atol=1e-12
    )

"""World presets: in `gender_neutral` nothing depends on gender (the null world of the audit)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from adapt.simulation import World, simulate
from adapt.simulation._dynamics import Dynamics, State
from adapt.simulation._population import MAN, WOMAN, sample_population
from adapt.simulation._random import CounterRNG


def _everyone(preset: str, gender: str) -> World:
    """The preset with every person of known gender a woman (or a man)."""
    share = 1.0 if gender == "woman" else 0.0
    return World.from_preset(
        preset, overrides={"population.p_woman": {"default": share, "sodertalje": share}}
    )


def _run(preset: str, gender: str) -> dict[str, pd.DataFrame]:
    return simulate(1500, seed=3, world=_everyone(preset, gender))


def test_in_the_neutral_world_the_same_persons_as_women_or_men_live_the_same_histories():
    # The simulator draws every person from counters, so turning every woman into a man
    # changes nothing else about who they are; in the neutral world it changes nothing at all:
    # the same caseworker choices, hours, steps, exits and true progression probabilities.
    women, men = _run("gender_neutral", "woman"), _run("gender_neutral", "man")
    assert set(women["persons"]["gender"]) <= {"woman", "unknown"}
    assert set(men["persons"]["gender"]) <= {"man", "unknown"}
    pd.testing.assert_frame_equal(
        women["persons"].drop(columns="gender"), men["persons"].drop(columns="gender")
    )
    pd.testing.assert_frame_equal(women["episodes"], men["episodes"])
    pd.testing.assert_frame_equal(women["truth"], men["truth"])


def test_in_the_default_world_the_same_swap_changes_the_histories():
    women, men = _run("default", "woman"), _run("default", "man")
    assert not women["truth"]["p_progress"].equals(men["truth"]["p_progress"])
    assert (women["persons"]["violence_exposure"] != men["persons"]["violence_exposure"]).any()


@pytest.mark.parametrize(
    ("preset", "differ"),
    [
        ("gender_neutral", set()),
        ("default", {"progress", "jump", "hours", "exit"}),
        ("gender_bias", {"progress", "jump", "hours", "exit", "choice"}),
    ],
)
def test_gender_enters_no_mechanism_of_the_neutral_world(preset, differ):
    # The mechanisms themselves, at states people reach: identical persons differing only in
    # gender get the same progression, job-jump and choice probabilities, the same hours and the
    # same exits in the neutral world; the other worlds show the test can see a difference.
    world = World.from_preset(preset)
    dyn = Dynamics(world)
    pop = sample_population(world, CounterRNG(5), np.arange(4000))
    state = State.at_entry(world, pop)
    state.step = np.arange(len(pop)) % 5  # steps 0..4: the market terms apply from step 2
    state.done_family[::3, world.families.index("coordination")] = True
    arms = np.broadcast_to(np.arange(dyn.n_interventions), (len(pop), dyn.n_interventions))
    social_enterprise = world.interventions.index("work_training_social_enterprise")
    chosen = np.full(len(pop), social_enterprise)
    days, z = np.full(len(pop), 70), np.zeros(len(pop))
    u = (np.arange(len(pop)) + 0.5) / len(pop)  # exit uniforms spread over (0, 1)

    def mechanisms(gender):
        p = dataclasses.replace(pop, gender=np.full(len(pop), gender))
        progress = dyn.progress_probabilities(p, state)
        return {
            "progress": progress,
            "jump": dyn.step_outcomes(p, state, arms, progress).p_jump,
            "choice": dyn.behaviour_probabilities(p, state),
            "hours": dyn.hours(p, chosen, days, z),
            "exit": dyn.exit_reasons(p, state, chosen, days, False, u, u[::-1]),
        }

    women, men = mechanisms(WOMAN), mechanisms(MAN)
    assert {name for name in women if not np.array_equal(women[name], men[name])} == differ

"""World parameters: one check of every parameter's type and range, one line per mistake.

`World.from_preset` checks the merged parameters whatever their source (a preset, `adapt
generate --set`, the experiment's `data.knobs` and `data.overrides`), so a world that would
generate data breaking the contract is never built.
"""

import math
from fnmatch import fnmatchcase

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from adapt.cli import main
from adapt.simulation import World, simulate
from adapt.simulation._params import KNOBS, RULES, reference

INF = math.inf
# What each knob allows, written out here so a change to the table is a change to this test.
KNOB_RANGES = {
    "effect_scale": (0, INF, "a number >= 0"),
    "confounding_strength": (0, INF, "a number >= 0"),
    "unobserved_confounding": (0, INF, "a number >= 0"),
    "gender_bias": (-INF, INF, "a number"),
    "order_effect_scale": (0, INF, "a number >= 0"),
    "positivity": (0, 1, "a number in [0, 1]"),
}


def refusal(overrides: dict) -> str:
    with pytest.raises(ValueError) as error:
        World.from_preset(overrides=overrides)
    message = str(error.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"knobs.positivity": 1.5}, "knobs.positivity = 1.5: expected a number in [0, 1]"),
        ({"knobs.positivity": -0.1}, "knobs.positivity = -0.1: expected a number in [0, 1]"),
        ({"knobs.effect_scale": "two"}, "knobs.effect_scale = 'two': expected a number >= 0"),
        ({"knobs.effect_scale": -1}, "knobs.effect_scale = -1: expected a number >= 0"),
        ({"knobs.effect_scale": True}, "knobs.effect_scale = True: expected a number >= 0"),
        ({"knobs.effect_scale": None}, "knobs.effect_scale = None: expected a number >= 0"),
        ({"knobs.gender_bias": math.nan}, "knobs.gender_bias = nan: expected a number"),
        ({"knobs.gender_bias": math.inf}, "knobs.gender_bias = inf: expected a number"),
        ({"knobs.confounding_strength": [1]}, "knobs.confounding_strength = [1]: expected a num"),
        ({"calendar.max_episodes": 2.5}, "calendar.max_episodes = 2.5: expected an integer >= 1"),
        ({"calendar.window_days": 0}, "calendar.window_days = 0: expected a number > 0"),
        ({"population.p_woman": 1.2}, "population.p_woman = 1.2: expected a number in [0, 1]"),
        (
            {"population.p_woman": {"default": 0.5, "hbs": -1}},
            "population.p_woman.hbs = -1: expected a number in [0, 1]",
        ),
        (
            {"population.p_woman": "half"},
            "population.p_woman = 'half': expected a number in [0, 1], or one per region as",
        ),
        (
            {"population.p_violence": 0.5},
            "population.p_violence = 0.5: expected a mapping of woman, man, unknown",
        ),
        (
            {"population.referral_probs.default": [0.5, 0.5]},
            "population.referral_probs.default = [0.5, 0.5]: expected a list of 5 numbers >= 0, "
            "not all 0",
        ),
        (
            {"population.education_probs": [0, 0, 0, 0]},
            "population.education_probs = [0, 0, 0, 0]: expected a list of 4 numbers >= 0",
        ),
        (
            {"latent.entry_step_cuts": [1.0, -0.2]},
            "latent.entry_step_cuts = [1.0, -0.2]: expected an increasing list of 2 numbers",
        ),
        ({"progress.step": [0.1, 0.2]}, "progress.step = [0.1, 0.2]: expected a list of 6 numbers"),
        (
            {"population.swedish_levels": ["weak", "fluent"]},
            "population.swedish_levels = ['weak', 'fluent']: expected ['weak', 'basic', 'fluent'] "
            "(the data contract's categories)",
        ),
        (
            {"progress.intervention_effect.ips": "big"},
            "progress.intervention_effect.ips = 'big': expected a number",
        ),
        (
            {"progress.intervention_effect.new_programme": "big"},  # open table: a number too
            "progress.intervention_effect.new_programme = 'big': expected a number",
        ),
        ({"episodes.hours_sd": -0.1}, "episodes.hours_sd = -0.1: expected a number >= 0"),
        ({"exits.moved": 2}, "exits.moved = 2: expected a number in [0, 1]"),
        ({"knobs": 3}, "knobs = 3: expected a mapping of effect_scale, confounding_strength"),
        ({"knobs.positivity.x": 1}, "knobs.positivity = {'x': 1}: expected a number in [0, 1]"),
    ],
)
def test_a_bad_value_is_refused_in_one_line_naming_it_and_what_is_allowed(overrides, message):
    assert refusal(overrides).startswith(message)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "knobs.no_such_knob",
            "unknown world parameter 'knobs.no_such_knob' = 1: expected one of knobs.effect_scale, "
            "knobs.confounding_strength, knobs.unobserved_confounding, knobs.gender_bias, "
            "knobs.order_effect_scale, knobs.positivity",
        ),
        (
            "knobs.positivty",
            "unknown world parameter 'knobs.positivty' = 1: did you mean 'knobs.positivity'?",
        ),
        ("nowhere", "unknown world parameter 'nowhere' = 1: expected one of knobs, calendar"),
        ("progress.zzz", "unknown world parameter 'progress.zzz' = 1: progress has "),
    ],
)
def test_an_unknown_name_is_refused_naming_what_is_known(name, message):
    assert refusal({name: 1}).startswith(message)
    with pytest.raises(KeyError):  # as it always was
        World.from_preset(overrides={name: 1})


def test_a_preset_file_is_checked_like_an_override(tmp_path):
    preset = tmp_path / "mine.yaml"
    preset.write_text("knobs:\n  positivity: 2\n")
    with pytest.raises(ValueError, match=r"^knobs\.positivity = 2: expected a number in \[0, 1\]$"):
        World.from_preset(preset)


def test_experiment_configs_arrive_as_omegaconf_containers_and_are_accepted():
    from omegaconf import OmegaConf

    tables = OmegaConf.create({"p_woman": {"default": 0.5}, "cuts": [-0.5, 0.5]})
    world = World.from_preset(
        overrides={
            "population.p_woman": tables.p_woman,
            "latent.entry_step_cuts": tables.cuts,
            "knobs.positivity": 0.2,
        }
    )
    assert world.params["population"]["p_woman"] == {"default": 0.5, "sodertalje": 0.64}
    assert world.params["latent"]["entry_step_cuts"] == [-0.5, 0.5]


def test_every_preset_and_the_default_world_pass():
    from adapt.simulation import available_presets

    for preset in available_presets():
        World.from_preset(preset)


def test_every_range_names_a_parameter_of_the_default_world():
    names = []

    def walk(node, name):
        names.append(name)
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{name}.{key}" if name else key)

    walk(reference(), "")
    for pattern, _ in RULES:
        assert any(fnmatchcase(n, pattern) for n in names), pattern
    assert set(KNOBS) == set(reference()["knobs"]) == set(KNOB_RANGES)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), knob=st.sampled_from(sorted(KNOB_RANGES)))
def test_any_value_in_a_knobs_range_is_accepted_and_any_outside_refused(data, knob):
    low, high, expected = KNOB_RANGES[knob]
    inside = data.draw(
        st.floats(min_value=max(low, -1e12), max_value=min(high, 1e12), allow_nan=False)
        | st.integers(int(max(low, -1e6)), int(min(high, 1e6))),
        label="inside",
    )
    assert World.from_preset(overrides={f"knobs.{knob}": inside}).knobs[knob] == inside
    outside = [math.nan, math.inf, -math.inf, "x", True, None, [0.5], {"a": 1}]
    if low > -INF:
        outside.append(data.draw(st.floats(max_value=low, exclude_max=True), label="below"))
    if high < INF:
        outside.append(data.draw(st.floats(min_value=high, exclude_min=True), label="above"))
    for value in outside:
        message = refusal({f"knobs.{knob}": value})
        assert message.startswith(f"knobs.{knob} = ") and message.endswith(f": expected {expected}")


@pytest.mark.parametrize(
    "overrides",
    [
        {"knobs.positivity": 0.0},
        {"knobs.positivity": 1.0},
        {"knobs.effect_scale": 0.0, "knobs.confounding_strength": 0.0},
        {"knobs.effect_scale": 50.0, "knobs.order_effect_scale": 50.0},
        {"knobs.gender_bias": -20.0, "knobs.unobserved_confounding": 5.0},
    ],
)
def test_worlds_at_the_ends_of_the_knobs_ranges_generate_data_that_meet_the_contract(overrides):
    from adapt.contract import check_tables

    data = simulate(150, seed=5, world=World.from_preset(overrides=overrides))
    assert check_tables(data["persons"], data["episodes"], data["truth"]) == []


def test_generate_refuses_an_out_of_range_knob_in_exactly_one_line(tmp_path):
    out = tmp_path / "world"
    result = CliRunner().invoke(
        main, ["generate", "--n-persons", "20", "--out", str(out), "--set", "knobs.positivity=1.5"]
    )
    assert result.exit_code == 1
    assert result.output == "Error: knobs.positivity = 1.5: expected a number in [0, 1]\n"
    assert not out.exists()


def test_generate_reads_numbers_as_people_type_them(tmp_path):
    result = CliRunner().invoke(
        main,
        ["generate", "--n-persons", "20", "--out", str(tmp_path / "w")]
        + ["--set", "knobs.positivity=1e-3", "--set", "population.p_woman={default: 0.5}"],
    )
    assert result.exit_code == 0, result.output

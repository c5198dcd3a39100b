"""The audit's thresholds file: strict, every problem named with the file and threshold at once."""

from importlib import resources

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapt._strict import shown
from adapt.fairness import load_thresholds
from adapt.fairness._thresholds import THRESHOLDS

KNOWN = ", ".join(THRESHOLDS)


def _refused(folder, text: str) -> str:
    path = folder / "thresholds.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ValueError) as raised:
        load_thresholds(path)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{path}: "), message
    return message.removeprefix(f"{path}: ")


def test_the_keys_are_those_of_the_defaults_file():
    text = resources.files("adapt.fairness").joinpath("thresholds.yaml").read_text("utf-8")
    assert list(load_thresholds()) == list(yaml.safe_load(text)) == list(THRESHOLDS)


def test_a_file_overrides_the_defaults_it_names(tmp_path):
    path = tmp_path / "thresholds.yaml"
    path.write_text("similar_rate_ratio: 1\nn_bootstrap: 50\n")  # an int is a fine ratio
    assert load_thresholds(path) == {
        **load_thresholds(),
        "similar_rate_ratio": 1,
        "n_bootstrap": 50,
    }
    assert load_thresholds(path) is not load_thresholds(path)  # the caller's own dict


def test_a_typo_key_is_refused(tmp_path):
    assert _refused(tmp_path, "lvel: 0.95\n") == f"unknown thresholds ['lvel'] (known: {KNOWN})"


def test_a_quoted_number_is_refused(tmp_path):
    assert _refused(tmp_path, 'similar_rate_ratio: "0.8"\n') == (
        "similar_rate_ratio: expected a number in (0, 1], got '0.8'"
    )


def test_a_float_is_not_a_count(tmp_path):
    assert _refused(tmp_path, "min_group_size: 2.5\n") == (
        "min_group_size: expected a positive integer, got 2.5"
    )


def test_every_problem_is_named_at_once(tmp_path):
    text = "colour: red\nlevel: 1\nn_bootstrap: true\ncalibration_gap: -0.1\nmin_recommended: 0\n"
    assert _refused(tmp_path, text).split("; ") == [
        f"unknown thresholds ['colour'] (known: {KNOWN})",
        "calibration_gap: expected a positive number, got -0.1",
        "min_recommended: expected a positive integer, got 0",
        "level: expected a number strictly between 0 and 1, got 1",
        "n_bootstrap: expected a positive integer, got True",
    ]


@pytest.mark.parametrize(
    "text, message",
    [("[1, 2]\n", "expected a mapping of thresholds, got list"), ("level: [0\n", "not valid YAML")],
)
def test_a_file_that_is_no_mapping_is_one_line(tmp_path, text, message):
    assert _refused(tmp_path, text).startswith(message)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.one_of(st.floats(allow_nan=False), st.integers(), st.booleans(), st.text(max_size=5))
)
def test_a_ratio_is_a_number_in_0_1(tmp_path, value):
    path = tmp_path / "thresholds.yaml"
    path.write_text(yaml.safe_dump({"similar_benefit_ratio": value}), "utf-8")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and 0 < value <= 1:
        assert load_thresholds(path)["similar_benefit_ratio"] == value
        return
    with pytest.raises(ValueError) as raised:
        load_thresholds(path)
    assert str(raised.value) == (
        f"{path}: similar_benefit_ratio: expected a number in (0, 1], got {shown(value)}"
    )

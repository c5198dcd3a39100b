"""The catalogue: built-in content, availability, and extension through YAML alone."""

import copy
import functools
from dataclasses import FrozenInstanceError
from importlib import resources

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from adapt._strict import shown
from adapt.catalogue import CatalogueError, load_catalogue, parse_catalogue
from adapt.simulation import World, simulate


def _built_in() -> dict:
    return copy.deepcopy(_built_in_raw())


@functools.cache
def _built_in_raw() -> dict:
    text = resources.files("adapt.catalogue").joinpath("catalogue.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def test_built_in_catalogue_matches_the_brief():
    cat = load_catalogue()
    assert len(cat.intervention_codes) == 15 and len(cat.region_codes) == 6
    assert cat.offered("sodertalje") == (
        "ips",
        "boston_model",
        "work_training_social_enterprise",
        "work_training_employer",
        "activity_centre",
        "health_group",
    )
    assert cat.availability()["work_training_social_enterprise"].all()
    assert cat.interventions["health_group"].name("sv") == "Hälsogrupp"
    assert cat.steps[5].name("en") == "In unsubsidised work"
    assert sum(r.mia_participants for r in cat.regions.values()) == 2234


def test_a_region_and_an_intervention_added_in_yaml_are_simulated(tmp_path):
    raw = _built_in()
    raw["interventions"]["peer_support"] = {
        "sv": "Kamratstöd",
        "en": "Peer support",
        "family": "counselling",
    }
    raw["regions"]["gotland"] = {
        "name": "Gotland",
        "mia_participants": 300,
        "offers": ["peer_support", "supported_employment"],
    }
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    cat = load_catalogue(path)
    data = simulate(3000, seed=1, world=World.from_preset(catalogue=cat))
    gotland = data["episodes"].merge(data["persons"], on="person_id").query("region == 'gotland'")
    assert set(gotland["intervention"]) == {"peer_support", "supported_employment"}


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda raw: raw["regions"]["hbs"]["offers"].append("yoga"),
            "regions.hbs.offers[5]: unknown intervention 'yoga' (not in interventions)",
        ),
        (
            lambda raw: raw["regions"]["hbs"]["offers"].append("gudance"),
            "regions.hbs.offers[5]: unknown intervention 'gudance' (did you mean 'guidance'?)",
        ),
        (
            lambda raw: raw["interventions"]["ips"].pop("family"),
            "interventions.ips.family: missing",
        ),
        (lambda raw: raw.pop("steps"), "section 'steps' is missing or empty"),
        (lambda raw: raw.update(regions={}), "section 'regions' is missing or empty"),
        (
            lambda raw: raw["interventions"]["ips"].update(repeatable="yes"),
            "interventions.ips.repeatable: expected a boolean, got 'yes'",
        ),
        (lambda raw: raw["steps"].pop(3), "steps: expected levels 0..n without gaps, got [0, 1, 2"),
        (lambda raw: raw["regions"]["hbs"].update(offers=[]), "regions.hbs.offers: expected a"),
        (
            lambda raw: raw["regions"]["hbs"].update(mia_participants=-3),
            "regions.hbs.mia_participants: expected a value >= 0, got -3",
        ),
        (
            lambda raw: raw["interventions"]["ips"].update(sv=2020),
            "interventions.ips.sv: expected a string, got 2020",
        ),
        (lambda raw: raw.update(version=2), "version: unknown key"),
    ],
)
def test_broken_catalogues_are_named(tmp_path, mutate, message):
    raw = _built_in()
    mutate(raw)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), "utf-8")
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(path)
    assert str(raised.value).startswith(f"{path}: {message}"), raised.value


# -- typos are refused, not ignored or coerced ([I] 2) -------------------------------------------
def _problems(raw: dict) -> list[str]:
    """The problems `parse_catalogue` names in `raw`, checked to be all in its one-line message."""
    with pytest.raises(CatalogueError) as raised:
        parse_catalogue(raw, source="catalogue.yaml")
    message, found = str(raised.value), list(raised.value.problems)
    assert "\n" not in message  # the CLI shows it as one line
    assert message == "catalogue.yaml: " + "; ".join(found)
    return found


def test_an_unknown_key_is_refused_with_its_path():
    raw = _built_in()
    raw["interventions"]["guidance"]["repeatabel"] = False
    assert _problems(raw) == [
        "interventions.guidance.repeatabel: unknown key (did you mean 'repeatable'?)"
    ]


@pytest.mark.parametrize(
    "where, key",
    [
        (("interventions", "guidance"), "repeatable"),
        (("interventions", "guidance"), "language_adapted"),
        (("regions", "hbs"), "multi_agency_team"),
    ],
)
def test_a_quoted_false_is_not_true(where, key):
    raw = _built_in()
    raw[where[0]][where[1]][key] = "false"  # bool("false") was True
    assert _problems(raw) == [f"{'.'.join(where)}.{key}: expected a boolean, got 'false'"]


def test_a_float_is_not_truncated_to_an_integer():
    raw = _built_in()
    raw["regions"]["hbs"]["mia_participants"] = 2.5  # int(2.5) was 2
    assert _problems(raw) == ["regions.hbs.mia_participants: expected an integer, got 2.5"]


def test_every_problem_is_named_at_once(tmp_path):
    raw = _built_in()
    raw["interventions"]["guidance"]["repeatabel"] = False
    raw["interventions"]["health_group"]["language_adapted"] = "false"
    raw["regions"]["hbs"]["mia_participants"] = 2.5
    raw["regions"]["hbs"]["offers"].append("yoga")
    raw["steps"][0]["sv"] = None
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), "utf-8")
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(path)
    assert str(raised.value) == f"{path}: " + "; ".join(
        [
            "steps.0.sv: expected a string, got None",
            "interventions.health_group.language_adapted: expected a boolean, got 'false'",
            "interventions.guidance.repeatabel: unknown key (did you mean 'repeatable'?)",
            "regions.hbs.mia_participants: expected an integer, got 2.5",
            "regions.hbs.offers[5]: unknown intervention 'yoga' (not in interventions)",
        ]
    )


def test_keys_of_the_wrong_type_are_named_as_written():
    raw = _built_in()
    raw["steps"]["6"] = {"sv": "a", "en": "b"}  # a quoted level
    raw["regions"][False] = raw["regions"].pop("hbs")  # `no:` in YAML 1.1 is false
    assert _problems(raw) == [
        "steps.6: expected an integer key, got '6'",
        "regions.False: expected a string key, got False",
    ]


def test_a_valid_catalogue_reads_as_before():
    cat = load_catalogue()
    assert cat.fingerprint() == "b3782d1e54f6ef63"  # unchanged by the strict loader
    assert parse_catalogue(_built_in()) == cat
    with pytest.raises(FrozenInstanceError):
        cat.interventions["ips"].repeatable = False


_NOT_BOOLS = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.lists(st.booleans(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.booleans(), max_size=2),
)


@settings(max_examples=60, deadline=None)
@given(value=_NOT_BOOLS)
def test_a_flag_accepts_only_true_or_false(value):
    raw = _built_in()
    raw["interventions"]["ips"]["repeatable"] = value
    [problem] = _problems(raw)
    assert problem.startswith("interventions.ips.repeatable: expected a boolean, got ")
    assert problem.endswith(repr(value)) or len(repr(value)) > 40


@settings(max_examples=60, deadline=None)
@given(value=st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=8)))
def test_a_count_accepts_only_a_non_negative_integer(value):
    raw = _built_in()
    raw["regions"]["hbs"]["mia_participants"] = value
    if isinstance(value, int) and value >= 0:
        assert parse_catalogue(raw).regions["hbs"].mia_participants == value
        return
    expected = "a value >= 0" if isinstance(value, int) else "an integer"
    assert _problems(raw) == [
        f"regions.hbs.mia_participants: expected {expected}, got {shown(value)}"
    ]


def test_courses_are_proposed_once_and_the_rest_may_repeat():
    cat = load_catalogue()
    once = {c for c, i in cat.interventions.items() if not i.repeatable}
    assert once == {"mobilisation_course", "boston_model"}

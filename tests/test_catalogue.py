"""The catalogue: built-in content, availability, and extension through YAML alone."""

from importlib import resources

import pytest
import yaml

from adapt.catalogue import CatalogueError, load_catalogue
from adapt.simulation import World, simulate


def _built_in() -> dict:
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
            "unknown interventions ['yoga']",
        ),
        (lambda raw: raw["interventions"]["ips"].pop("family"), "interventions.ips: missing field"),
        (lambda raw: raw.pop("steps"), "section 'steps' is missing"),
        (
            lambda raw: raw["interventions"]["ips"].update(repeatable="yes"),
            "interventions.ips.repeatable must be true or false, got 'yes'",
        ),
    ],
)
def test_broken_catalogues_are_named(tmp_path, mutate, message):
    raw = _built_in()
    mutate(raw)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), "utf-8")
    with pytest.raises(CatalogueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_catalogue(path)


def test_courses_are_proposed_once_and_the_rest_may_repeat():
    cat = load_catalogue()
    once = {c for c, i in cat.interventions.items() if not i.repeatable}
    assert once == {"mobilisation_course", "boston_model"}

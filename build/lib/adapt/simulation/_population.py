"""Who enters: observed covariates at entry and the latent state behind them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adapt.contract import GENDERS
from adapt.simulation._random import CounterRNG
from adapt.simulation._world import World

WOMAN, MAN = 0, 1
FK_INCOMES = {"sickness_benefit", "activity_compensation", "sickness_compensation"}

# Stream numbers for draws made once per person (episode 0).
(
    _REGION,
    _GENDER,
    _AGE,
    _YEARS,
    _REFERRAL,
    _INCOME,
    _ABROAD,
    _SWEDISH,
    _EDUCATION,
    _MENTAL,
    _VIOLENCE,
    _ENTRY,
    _CONFOUNDER,
    _READINESS,
    _HEALTH,
    _STEP,
    _LIMIT,
) = range(17)


@dataclass
class Population:
    """Arrays, one entry per person, for a slice of the global person index."""

    index: np.ndarray
    region: np.ndarray
    gender: np.ndarray
    age: np.ndarray
    years_on_support: np.ndarray
    referral: np.ndarray
    income: np.ndarray
    education: np.ndarray
    born_abroad: np.ndarray
    swedish: np.ndarray
    mental_ill_health: np.ndarray
    violence_exposure: np.ndarray
    entry_offset: np.ndarray  # calendar day of entry within the data window
    confounder: np.ndarray  # unobserved trait, N(0, 1)
    readiness: np.ndarray
    health: np.ndarray
    coordination_need: np.ndarray  # in contact with three or more agencies
    entry_step: np.ndarray
    enrolment_limit: np.ndarray  # days after which the person is handed back

    def __len__(self) -> int:
        return len(self.index)


def sample_population(world: World, rng: CounterRNG, index: np.ndarray) -> Population:
    """Draw the persons with global indices `index`; each person depends only on its index."""
    pp, lat = world.params["population"], world.params["latent"]
    n = len(index)

    region = rng.choice(index, _REGION, world.region_mix)
    p_woman = world.by_region(pp["p_woman"])[region]
    u = rng.uniform(index, _GENDER)
    gender = np.where(
        u < pp["p_unknown_gender"],
        2,
        np.where(u < pp["p_unknown_gender"] + p_woman * (1 - pp["p_unknown_gender"]), WOMAN, MAN),
    )

    age_mean, age_sd = world.by_region(pp["age_mean"]), world.by_region(pp["age_sd"])
    age = np.clip(np.rint(age_mean[region] + age_sd[region] * rng.normal(index, _AGE)), 18, 66)
    age = age.astype(np.int64)

    from scipy.special import gammaincinv  # local: only needed here

    scale = world.by_region(pp["support_years_scale"])[region]
    years = gammaincinv(pp["support_years_shape"], rng.uniform(index, _YEARS)) * scale
    years = np.round(np.minimum(years, age - 16.0), 1)

    referral_probs = np.array(
        [pp["referral_probs"].get(r, pp["referral_probs"]["default"]) for r in world.regions]
    )
    referral = rng.choice(index, _REFERRAL, referral_probs[region])
    income_table = np.array([pp["income_given_referral"][r] for r in pp["referral_levels"]])
    income = rng.choice(index, _INCOME, income_table[referral])

    born_abroad = rng.uniform(index, _ABROAD) < world.by_region(pp["p_born_abroad"])[region]
    abroad_probs = np.array(
        [
            pp["swedish_if_born_abroad"].get(r, pp["swedish_if_born_abroad"]["default"])
            for r in world.regions
        ]
    )
    swedish_probs = np.where(
        born_abroad[:, None], abroad_probs[region], np.asarray(pp["swedish_if_born_here"])[None, :]
    )
    swedish = rng.choice(index, _SWEDISH, swedish_probs)
    education = rng.choice(index, _EDUCATION, pp["education_probs"])

    health_referral = np.isin(
        referral,
        [
            pp["referral_levels"].index("healthcare"),
            pp["referral_levels"].index("social_insurance"),
        ],
    )
    p_mental = pp["p_mental_ill_health"] + pp["mental_if_health_referral"] * health_referral
    mental = rng.uniform(index, _MENTAL) < p_mental
    p_violence = np.array([pp["p_violence"][g] for g in GENDERS])[gender]
    violence = rng.uniform(index, _VIOLENCE) < p_violence

    entry_offset = rng.uniform(index, _ENTRY) * world.params["calendar"]["window_days"]
    confounder = rng.normal(index, _CONFOUNDER)

    edu_effect = np.array([lat["readiness_education"][e] for e in pp["education_levels"]])
    readiness = (
        lat["readiness_intercept"]
        + world.by_region(lat["readiness_region"])[region]
        + lat["readiness_support_years"] * (years - 7.0)
        + lat["readiness_age_over_45"] * np.maximum(age - 45, 0)
        + lat["readiness_weak_swedish"] * (swedish == 0)
        + lat["readiness_basic_swedish"] * (swedish == 1)
        + edu_effect[education]
        + lat["readiness_mental"] * mental
        + world.knobs["unobserved_confounding"] * confounder
        + lat["readiness_noise"] * rng.normal(index, _READINESS)
    )
    health = (
        lat["health_intercept"]
        + lat["health_mental"] * mental
        + lat["health_violence"] * violence
        + 0.5 * world.knobs["unobserved_confounding"] * confounder
        + lat["health_noise"] * rng.normal(index, _HEALTH)
    )

    income_names = np.array(pp["income_levels"])[income]
    agencies = (
        1
        + np.isin(income_names, list(FK_INCOMES))
        + (income_names == "social_assistance")
        + mental
        + (income_names == "unemployment_benefit")
        + (referral == pp["referral_levels"].index("employment_service"))
    )
    coordination_need = agencies >= 3

    cuts = lat["entry_step_cuts"]
    step_signal = readiness + 0.5 * rng.normal(index, _STEP)
    entry_step = np.searchsorted(np.asarray(cuts), step_signal).astype(np.int64)

    ex = world.params["exits"]
    limit = world.by_region(ex["enrolment_limit_days"])[region]
    enrolment_limit = limit * np.exp(ex["enrolment_limit_sd"] * rng.normal(index, _LIMIT))

    assert len(region) == n
    return Population(
        index=np.asarray(index, dtype=np.int64),
        region=region,
        gender=gender,
        age=age,
        years_on_support=years,
        referral=referral,
        income=income,
        education=education,
        born_abroad=born_abroad,
        swedish=swedish,
        mental_ill_health=mental,
        violence_exposure=violence,
        entry_offset=entry_offset,
        confounder=confounder,
        readiness=readiness,
        health=health,
        coordination_need=coordination_need,
        entry_step=entry_step,
        enrolment_limit=enrolment_limit,
    )

"""How interventions act: progression probabilities, caseworkers' choices, state changes, exits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from adapt.contract import EXIT_REASONS  # noqa: F401  (re-exported)
from adapt.simulation._population import WOMAN, Population
from adapt.simulation._world import World

# Codes index the contract's exit reasons, in its order.

WORK, STUDIES, WORK_PREP, OTHER_SUPPORT, SICKNESS_COMP, DROPPED_OUT, MOVED, ONGOING = range(8)
NO_EXIT = -1


@dataclass
class State:
    """What has happened to each person so far; rows align with a Population slice."""

    step: np.ndarray
    readiness: np.ndarray
    health: np.ndarray
    last: np.ndarray  # last intervention index, -1 before the first episode
    previous_last: np.ndarray  # the intervention before the last, -1 before the second episode
    n_done: np.ndarray
    done_family: np.ndarray  # (n, n_families) bool

    @classmethod
    def at_entry(cls, world: World, pop: Population) -> State:
        n = len(pop)
        return cls(
            step=pop.entry_step.copy(),
            readiness=pop.readiness.copy(),
            health=pop.health.copy(),
            last=np.full(n, -1),
            previous_last=np.full(n, -1),
            n_done=np.zeros(n, np.int64),
            done_family=np.zeros((n, len(world.families)), bool),
        )

    def take(self, rows: np.ndarray) -> State:
        return State(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))


@dataclass
class StepOutcomes:
    """How an episode with the chosen interventions can end, per person (any array shape).

    An episode progresses with probability `p_progress`. A progression goes one step up, or, with
    probability `p_jump`, jumps to `jump_to`. An episode that does not progress steps back one
    step with probability `p_back` (0 on step 0, and on step 5, the top, which nobody leaves
    downwards), and otherwise leaves the step as it was. This is the one place the rule lives:
    the simulator draws from it and the plan truth takes its expectation.
    """

    step: np.ndarray
    p_progress: np.ndarray
    p_jump: np.ndarray
    jump_to: np.ndarray
    p_back: np.ndarray

    # Whether each of the four outcomes of `probabilities` counts as a progression.
    PROGRESSED = (True, True, False, False)

    def probabilities(self) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and new steps of the four outcomes: up one, jump, back, stay.

        Both arrays have a leading axis of length 4; the probabilities sum to 1 over it.
        """
        p, q, b, step = self.p_progress, self.p_jump, self.p_back, self.step
        probs = np.stack([p * (1 - q), p * q, (1 - p) * b, (1 - p) * (1 - b)])
        steps = np.stack(np.broadcast_arrays(np.minimum(step + 1, 5), self.jump_to, step - 1, step))
        return probs, steps

    def realise(
        self, u_progress: np.ndarray, u_jump: np.ndarray, u_back: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The outcome drawn from three uniforms: (progressed, new step)."""
        step = self.step
        progressed = u_progress < self.p_progress
        up = np.where(u_jump < self.p_jump, self.jump_to, np.minimum(step + 1, 5))
        back = ~progressed & (u_back < self.p_back)
        return progressed, np.where(progressed, up, np.where(back, step - 1, step))


def _shift_logit(p: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """`p` with its logit moved by `shift`, in odds form so that p = 0 and p = 1 stay put."""
    scaled = p * np.exp(shift)
    return scaled / (1 - p + scaled)


class Dynamics:
    """The world's mechanics, precompiled to arrays over the catalogue's interventions."""

    def __init__(self, world: World):
        self.world = world
        p, fam = world.params, world.families
        pr = p["progress"]
        self.n_interventions = len(world.interventions)
        self.family = world.family_of
        is_family = {f: world.family_of == fam.index(f) for f in fam}
        self.employment = is_family["employment_support"]
        self.work_training = is_family["work_training"]
        self.coordination = is_family["coordination"]
        self.coordination_family = fam.index("coordination")
        self.counselling = is_family["counselling"]
        self.guidance = is_family["guidance"]
        self.preparation_families = np.array(
            [f in ("readiness_course", "group_activity") for f in fam]
        )
        self.employment_ward = self.employment | self.work_training
        cat = world.catalogue
        self.language_adapted = np.array(
            [cat.interventions[i].language_adapted for i in world.interventions]
        )
        codes = world.interventions
        self.boston = np.array([c == "boston_model" for c in codes])
        self.ips = np.array([c == "ips" for c in codes])
        self.employer = np.array([c == "work_training_employer" for c in codes])
        self.social_enterprise = np.array([c == "work_training_social_enterprise" for c in codes])

        fit = np.array([pr["stage_fit"][f] for f in fam])  # (families, steps)
        self.stage_fit = fit[self.family].T  # (steps, interventions)
        self.effect = world.by_intervention(pr["intervention_effect"])
        self.step_coef = np.asarray(pr["step"], float)
        # [family before last, family of last, intervention]: the order of the last two.
        self.last_two = world.last_two[:, :, self.family]
        self.has_last_two = bool(self.last_two.any())

        cw = p["caseworker"]
        self.cw_intercept = world.by_intervention(cw["intercept"])
        self.cw_proxy = world.by_family(cw["readiness_proxy"])[self.family]
        first = np.zeros((len(world.regions), self.n_interventions))
        for r, prefs in cw["first_choice"].items():
            if r in world.regions:
                for code, value in prefs.items():
                    first[world.regions.index(r), codes.index(code)] = value
        self.cw_first = first

        ep = p["episodes"]
        self.median_days = world.by_intervention(ep["median_days_intervention"], ep["median_days"])
        self.hours_per_week = world.by_intervention(
            ep["hours_per_week_intervention"], ep["hours_per_week"]
        )
        self.region_duration = world.by_region(ep["region_duration"])
        self.cm_ostra = np.array([c == "case_management" for c in codes])
        self.ostra = (
            world.regions.index("ostra_sodertorn") if "ostra_sodertorn" in world.regions else -1
        )
        dyn = p["dynamics"]
        self.readiness_gain = world.by_family(dyn["readiness_gain"])[self.family]
        self.health_gain = world.by_family(dyn["health_gain"])[self.family]
        self.edu_levels = p["population"]["education_levels"]

    # -- progression ------------------------------------------------------------------------------
    def progress_logits(self, pop: Population, s: State) -> np.ndarray:
        """Logit of progressing, one row per person and one column per intervention."""
        pr = self.world.params["progress"]
        knobs = self.world.knobs
        step = s.step
        base = (
            pr["intercept"]
            + self.step_coef[step]
            + pr["readiness"] * s.readiness
            + pr["health"] * s.health
        )
        weak = pop.swedish == 0
        fluent = pop.swedish == 2
        educated = np.isin(
            pop.education,
            [self.edu_levels.index("upper_secondary"), self.edu_levels.index("post_secondary")],
        )
        col = lambda mask, values: mask[None, :] * values[:, None]  # noqa: E731
        effect = (
            self.stage_fit[step]
            + self.effect[None, :]
            + col(
                self.employment,
                pr["employment_readiness_slope"]
                * (s.readiness - pr["employment_readiness_threshold"]),
            )
            + col(self.coordination, pr["coordination_need"] * pop.coordination_need)
            + col(
                self.language_adapted,
                pr["language_adapted_weak_swedish"] * weak + pr["language_adapted_fluent"] * fluent,
            )
            + col(self.boston, pr["boston_weak_swedish"] * weak)
            + col(self.ips, pr["ips_mental"] * pop.mental_ill_health)
            + col(self.counselling, pr["counselling_mental"] * pop.mental_ill_health)
            + col(self.employer, pr["employer_training_readiness"] * s.readiness)
            + col(self.guidance, pr["guidance_education"] * educated)
        )
        order = pr["order"]
        done_wt = s.done_family[:, self.world.families.index("work_training")]
        prepared = (s.done_family & self.preparation_families[None, :]).any(axis=1)
        first = s.n_done == 0
        order_term = (
            col(
                self.employment,
                order["employment_after_work_training"] * done_wt
                + order["employment_first"] * first,
            )
            + col(self.work_training, order["work_training_after_preparation"] * prepared)
            + col(self.coordination, order["coordination_first"] * first)
            + col(self.guidance, order["guidance_after_work_training"] * done_wt)
            + order["repeat_last"] * (np.arange(self.n_interventions)[None, :] == s.last[:, None])
        )
        if self.has_last_two:  # skipped when empty, so worlds without it stay bit-identical
            both = s.previous_last >= 0
            order_term = (
                order_term
                + both[:, None]
                * self.last_two[
                    self.family[np.maximum(s.previous_last, 0)], self.family[np.maximum(s.last, 0)]
                ]
            )
        # Labour-market inequality (MIA): women's work training from step 2 up leads on less often,
        # to a job or to a programme alike (MIA: women's work training ended in both less often).
        # SE/IPS's penalty acts on the job outcome instead (step_outcomes).
        market = col(
            self.work_training,
            -pr["women_work_training_penalty"] * (step >= 2) * self._women_on_the_market(pop, s),
        )
        return (
            base[:, None]
            + knobs["effect_scale"] * effect
            + knobs["order_effect_scale"] * order_term
            + market
        )

    def _women_on_the_market(self, pop: Population, s: State) -> np.ndarray:
        """1 for women, 0 for everyone else, less the share coordination lifts once had (MIA found
        case management's gender gap small where SE's and work training's were large)."""
        coordinated = s.done_family[:, self.coordination_family]
        offset = self.world.params["progress"]["coordination_offsets_penalty"]
        return (pop.gender == WOMAN) * (1 - offset * coordinated)

    def progress_probabilities(self, pop: Population, s: State) -> np.ndarray:
        return expit(self.progress_logits(pop, s))

    def step_outcomes(
        self, pop: Population, s: State, chosen: np.ndarray, p_progress: np.ndarray
    ) -> StepOutcomes:
        """The ways an episode with `chosen` can end, given its progress probability.

        `chosen` and `p_progress` have one row per person and may have more columns (several
        candidate interventions per person); person-level quantities broadcast over them.
        """
        pr = self.world.params["progress"]
        extra = (1,) * (np.ndim(chosen) - 1)
        per = lambda x: np.reshape(x, np.shape(x) + extra)  # noqa: E731  (person -> columns)
        step = per(s.step)
        # Straight into a job is rarer for women and for people with weak Swedish (MIA).
        # So is it for people in contact with many agencies, whom caseworkers send to coordination.
        # Coordination lifts part of women's penalty here too (MIA: CM's gap was small).
        coordinated = s.done_family[:, self.coordination_family]
        women_factor = (
            pr["women_job_jump_factor"]
            + (1 - pr["women_job_jump_factor"]) * pr["coordination_offsets_penalty"] * coordinated
        )
        job_odds = per(
            np.where(pop.gender == WOMAN, women_factor, 1.0)
            * np.where(pop.swedish == 0, pr["weak_swedish_job_jump_factor"], 1.0)
            * np.where(pop.coordination_need, pr["need_job_jump_factor"], 1.0)
        )
        employment, training = self.employment[chosen], self.work_training[chosen]
        # Women's SE/IPS progresses as often as men's, but ends in a job less often: the penalty
        # takes logit off the job outcome, and a progression without a job is one step up (from
        # step 2, to an ordinary programme). MIA: women went to programmes more, to work less.
        to_work = _shift_logit(
            pr["jump_to_work"] * job_odds,
            -pr["women_market_penalty"] * per(self._women_on_the_market(pop, s)),
        )
        p_jump = np.where(
            employment,
            to_work,
            np.where(
                training,
                pr["work_training_to_job"] * job_odds,
                np.where(self.guidance[chosen], pr["jump_to_studies"], 0.0),
            ),
        )
        # Jumps happen from step 2 up: to work (5) for employment support, else to at least 4.
        p_jump = np.where(step >= 2, p_jump, 0.0)
        jump_to = np.where(employment, 5, np.minimum(np.maximum(step + 1, 4), 5))
        p_back = 1 / (
            1
            + np.exp(
                -(
                    pr["back_intercept"]
                    + pr["back_health"] * s.health
                    + pr["back_high_step"] * (s.step >= 3)
                )
            )
        )
        p_back = np.where((step > 0) & (step < 5), per(p_back), 0.0)
        return StepOutcomes(
            step, p_progress, p_jump, jump_to, np.broadcast_to(p_back, p_jump.shape)
        )

    # -- caseworkers ------------------------------------------------------------------------------
    def observed_readiness(self, pop: Population) -> np.ndarray:
        """The part of readiness a caseworker can read off the file (no noise, no latent trait)."""
        lat = self.world.params["latent"]
        edu = np.array([lat["readiness_education"][e] for e in self.edu_levels])
        return (
            lat["readiness_support_years"] * (pop.years_on_support - 7.0)
            + lat["readiness_age_over_45"] * np.maximum(pop.age - 45, 0)
            + lat["readiness_weak_swedish"] * (pop.swedish == 0)
            + lat["readiness_basic_swedish"] * (pop.swedish == 1)
            + edu[pop.education]
            + lat["readiness_mental"] * pop.mental_ill_health
        )

    def behaviour_probabilities(self, pop: Population, s: State) -> np.ndarray:
        """The caseworkers' choice probabilities over the interventions each region offers."""
        cw, knobs = self.world.params["caseworker"], self.world.knobs
        col = lambda mask, values: mask[None, :] * values[:, None]  # noqa: E731
        readiness_signal = (
            knobs["confounding_strength"] * (self.observed_readiness(pop) + 0.3 * s.step)
            + knobs["unobserved_confounding"] * pop.confounder
        )
        done_wt = s.done_family[:, self.world.families.index("work_training")]
        prepared = (s.done_family & self.preparation_families[None, :]).any(axis=1)
        score = (
            self.cw_intercept[None, :]
            + cw["stage_fit_weight"] * self.stage_fit[s.step]
            + self.cw_proxy[None, :] * readiness_signal[:, None]
            + col(self.counselling, cw["mental_to_counselling"] * pop.mental_ill_health)
            + col(self.coordination, cw["need_to_coordination"] * pop.coordination_need)
            + cw["repeat_last"] * (np.arange(self.n_interventions)[None, :] == s.last[:, None])
            + col(self.work_training, cw["work_training_after_preparation"] * prepared)
            + col(self.employment, cw["employment_after_work_training"] * done_wt)
            + self.cw_first[pop.region] * (s.n_done == 0)[:, None]
            + col(
                self.language_adapted, cw["weak_swedish_to_language_adapted"] * (pop.swedish == 0)
            )
            + col(self.employment_ward, -knobs["gender_bias"] * (pop.gender == WOMAN))
        )
        available = self.world.available[pop.region]
        score = np.where(available, score, -np.inf)
        score -= score.max(axis=1, keepdims=True)
        weights = np.exp(score)
        softmax = weights / weights.sum(axis=1, keepdims=True)
        eps = knobs["positivity"]
        return (1 - eps) * softmax + eps * available / available.sum(axis=1, keepdims=True)

    # -- after an episode -------------------------------------------------------------------------
    def update(
        self,
        s: State,
        chosen: np.ndarray,
        progressed: np.ndarray,
        new_step: np.ndarray,
        health_shock: np.ndarray,
        pop: Population,
    ) -> None:
        """Move each person's state on after an episode with `chosen` interventions."""
        dyn = self.world.params["dynamics"]
        weak_boost = 1 + 0.5 * (self.language_adapted[chosen] & (pop.swedish == 0))
        s.readiness = (
            s.readiness
            + self.world.knobs["effect_scale"] * self.readiness_gain[chosen] * weak_boost
            + dyn["readiness_gain_on_progress"] * progressed
        )
        s.health = s.health + self.health_gain[chosen] + health_shock
        s.step = new_step
        s.done_family[np.arange(len(chosen)), self.family[chosen]] = True
        s.previous_last = s.last
        s.last = chosen
        s.n_done = s.n_done + 1

    def durations(self, pop: Population, chosen: np.ndarray, z: np.ndarray) -> np.ndarray:
        ep = self.world.params["episodes"]
        scale = ep["duration_scale"] * self.median_days[chosen] * self.region_duration[pop.region]
        scale = np.where(
            self.cm_ostra[chosen] & (pop.region == self.ostra),
            scale * ep["cm_duration_ostra_sodertorn"],
            scale,
        )
        return np.maximum(np.rint(scale * np.exp(ep["duration_sd"] * z)), 7).astype(np.int64)

    def hours(self, pop: Population, chosen: np.ndarray, days: np.ndarray, z: np.ndarray):
        ep = self.world.params["episodes"]
        per_week = self.hours_per_week[chosen] * np.where(
            self.social_enterprise[chosen] & (pop.gender == WOMAN),
            ep["women_social_enterprise_hours"],
            1.0,
        )
        return np.round(
            days / 7.0 * per_week * np.exp(ep["hours_sd"] * z - ep["hours_sd"] ** 2 / 2), 1
        )

    def exit_reasons(
        self,
        pop: Population,
        s: State,
        chosen: np.ndarray,
        elapsed: np.ndarray,
        last_episode: bool,
        u_exit: np.ndarray,
        u_kind: np.ndarray,
    ) -> np.ndarray:
        """The reason each person leaves after this episode, or NO_EXIT."""
        ex = self.world.params["exits"]
        step = s.step
        reason = np.full(len(step), NO_EXIT)
        top = step >= 5
        reason[top] = WORK
        at4 = (step == 4) & (u_exit < ex["step4_exit"])
        studies = self.guidance[chosen] | (u_kind < ex["studies_share_step4"])
        reason[at4] = np.where(studies[at4], STUDIES, WORK)
        at3 = (step == 3) & (u_exit < ex["work_preparatory_exit"])
        reason[at3] = WORK_PREP
        # Other ways out, for those still in: one uniform split into competing hazards.
        # Women drop out less: MIA's gaps imply that outside work training women ended in
        # progression more often than men (docs/simulator.md, section 6).
        p_drop = expit(
            ex["dropout_intercept"]
            + ex["dropout_health"] * s.health
            + ex["dropout_readiness"] * s.readiness
            + ex["dropout_women"] * (pop.gender == WOMAN)
        )
        p_sick = expit(
            ex["sickness_compensation_intercept"] + ex["sickness_compensation_health"] * s.health
        )
        cuts = np.cumsum(
            np.stack(
                [
                    p_drop,
                    p_sick,
                    np.full_like(p_drop, ex["moved"]),
                    np.full_like(p_drop, ex["other_support"]),
                ]
            ),
            axis=0,
        )
        other = np.select(
            [u_kind < cuts[0], u_kind < cuts[1], u_kind < cuts[2], u_kind < cuts[3]],
            [DROPPED_OUT, SICKNESS_COMP, MOVED, OTHER_SUPPORT],
            NO_EXIT,
        )
        still = reason == NO_EXIT
        reason[still] = other[still]
        handed_back = (reason == NO_EXIT) & ((elapsed >= pop.enrolment_limit) | last_episode)
        reason[handed_back] = OTHER_SUPPORT
        return reason

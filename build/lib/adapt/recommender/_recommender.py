"""`Recommender`: one fitted learner and its step transitions, answering for one person or many."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import ValidationError

from adapt.contract import CHUNK_PERSONS, by_person_chunks
from adapt.explain import Sentences, arm_contributions
from adapt.features import feature_settings, next_decision_points_for, next_decision_values
from adapt.models import best_arms, ranked_arms
from adapt.planning import Planner, StepTransitions
from adapt.recommender._errors import InvalidRequest
from adapt.recommender._schemas import (
    Interval,
    JourneyItem,
    Named,
    Option,
    PlannedStep,
    Recommendation,
    RecommendRequest,
    StepInfo,
)


@dataclass
class Estimates:
    """Per decision point and intervention: probability of progress, uplift over current
    practice, their intervals, and the usual path (NaN where not offered)."""

    p: np.ndarray
    p_lower: np.ndarray
    p_upper: np.ndarray
    uplift: np.ndarray
    uplift_lower: np.ndarray
    uplift_upper: np.ndarray
    usual: np.ndarray  # arm index

    @classmethod
    def of(cls, model, X) -> Estimates:
        """The estimates of `model` at decision points `X` (a DataFrame of features, or the
        learner's `Encoded` rows): what `predict`, `predict_interval`,
        `behaviour_probabilities` and `predict_uplift_interval` give, from one pass."""
        if isinstance(X, pd.DataFrame):
            X = model.encode(X)
        draws = model.draws(X)
        e = model.behaviour(X)
        p = draws.mean(axis=0)
        p_lower, p_upper = model.probability_interval(draws)
        uplift_lower, uplift_upper = model.uplift_interval(draws, e)
        uplift = model.uplift(p, e)
        return cls(p, p_lower, p_upper, uplift, uplift_lower, uplift_upper, best_arms(e))

    def ranked(self, row: int) -> np.ndarray:
        """Offered arms of `row`, highest probability first (ties: catalogue order), the rule
        of `choose_best` and `adapt recommend` (`adapt.models.ranked_arms`)."""
        return ranked_arms(self.p[row])


class Recommender:
    """Recommends the next interventions of a person, with reasons and a plan.

    Parameters
    ----------
    model : fitted adapt learner
    transitions : StepTransitions
        What the planner needs besides the model (``transitions.json`` beside a saved model).
    version : str
        Shown in every answer as ``model_version``.
    beam_width : int
        The planner's beam width.
    """

    def __init__(
        self, model, transitions: StepTransitions, version: str = "unversioned", beam_width: int = 4
    ):
        self.model, self.transitions, self.version = model, transitions, version
        self.catalogue = model.catalogue_
        self.beam_width = beam_width
        self._planners: dict[int, Planner] = {}
        self._codes = list(model.interventions_)
        self._covariates = [c for c in model.feature_names_in_ if c.startswith("x_")]

    # -- one person -------------------------------------------------------------------------------
    def recommend(
        self,
        person,
        history=(),
        *,
        k: int = 3,
        lang: str = "sv",
        day=None,
        current_step=None,
        reasons: bool = True,
    ) -> Recommendation:
        """The top-`k` offered interventions with reasons, a `k`-step plan and the journey.

        `person` holds the persons-contract fields, `history` the past episodes in order
        (`intervention`, `start_day`, `end_day`, `hours`, `step_before`, `step_after`), `day`
        today in days since entry and `current_step` the step the person stands on. Without
        `reasons` the options carry none (for callers that only rank). Raises `InvalidRequest`
        naming every wrong field.
        """
        request = self.validate(
            {
                "person": person,
                "history": list(history) if isinstance(history, tuple) else history,
                "k": k,
                "lang": lang,
                "day": day,
                "current_step": current_step,
            }
        )
        person = self._person_values(request)
        history = [e.model_dump() for e in request.history]
        values = next_decision_values(
            person,
            history,
            current_step=request.current_step,
            day=request.day,
            **feature_settings(self.model),
        )
        encoded = self.model.encode_values([values])
        estimates = Estimates.of(self.model, encoded)
        plans = self.planner(request.k).search_one(
            person, history, current_step=int(values["current_step"]), day=request.day
        )
        return self._answer(request, values, encoded, estimates, plans, reasons)

    def validate(self, raw) -> RecommendRequest:
        """The request as a `RecommendRequest`, checked against the catalogue and the model."""
        if isinstance(raw, RecommendRequest):
            request = raw
        else:
            try:
                request = RecommendRequest.model_validate(_plain(raw))
            except ValidationError as error:
                raise InvalidRequest.from_validation(error) from None
        errors = self._domain_errors(request)
        if errors:
            raise InvalidRequest(errors)
        return request

    # -- many persons -----------------------------------------------------------------------------
    def next_decisions(
        self,
        persons: pd.DataFrame,
        episodes: pd.DataFrame,
        skip_invalid: bool = False,
        chunk_size: int = CHUNK_PERSONS,
        progress=None,
        engine=None,
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """One row per person for the decision after their last recorded episode (persons
        with no episode yet included): the recommendation, the usual path, and for each
        intervention ``p_``, ``uplift_``, ``uplift_lower_`` and ``uplift_upper_``.

        Persons the model cannot serve raise one error naming them, or with `skip_invalid`
        go to the second table (person_id, reason). Validate the tables first. Persons go
        `chunk_size` at a time; `progress` is called with each chunk's number of persons;
        with `engine` (`adapt.engines`) the chunks run on its workers.
        """
        reasons = self._unservable(persons)
        if reasons and not skip_invalid:
            shown = "; ".join(f"{pid}: {why}" for pid, why in list(reasons.items())[:5])
            raise ValueError(f"{len(reasons)} person(s) cannot be served: {shown}")
        rejects = pd.DataFrame(
            {"person_id": list(reasons), "reason": list(reasons.values())},
            columns=["person_id", "reason"],
        )
        keep = ~persons["person_id"].isin(list(reasons)).to_numpy()
        persons = persons[keep].reset_index(drop=True)
        episodes = episodes[episodes["person_id"].isin(persons["person_id"])]
        table = by_person_chunks(self._next_table, persons, episodes, chunk_size, progress, engine)
        return table, rejects

    def _next_table(self, persons: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
        points = next_decision_points_for(self.model, persons, episodes)
        estimates = Estimates.of(self.model, points.features)
        codes = np.asarray(self._codes, dtype=object)
        best = np.array([estimates.ranked(i)[0] for i in range(len(persons))], dtype=np.int64)
        table = {
            "person_id": points.keys["person_id"].to_numpy(),
            "episode_no": points.keys["episode_no"].to_numpy(),
            "current_step": points.features["current_step"].to_numpy(np.int64),
            "recommended": codes[best] if len(best) else np.array([], dtype=object),
            "usual_path": codes[estimates.usual],
        }
        for j, code in enumerate(self._codes):
            table[f"p_{code}"] = estimates.p[:, j]
            table[f"uplift_{code}"] = estimates.uplift[:, j]
            table[f"uplift_lower_{code}"] = estimates.uplift_lower[:, j]
            table[f"uplift_upper_{code}"] = estimates.uplift_upper[:, j]
        return pd.DataFrame(table)

    # -- helpers ----------------------------------------------------------------------------------
    def planner(self, k: int) -> Planner:
        if k not in self._planners:
            self._planners[k] = Planner(
                self.model, self.transitions, k=k, beam_width=self.beam_width
            )
        return self._planners[k]

    def _unservable(self, persons: pd.DataFrame) -> dict:
        seen = set(self.model.seen_regions_)
        region = persons["region"].astype(str)
        bad = ~region.isin(seen)
        return {
            pid: f"region {r!r} was never seen by the model"
            for pid, r in zip(persons["person_id"][bad], region[bad], strict=True)
        }

    def _domain_errors(self, request: RecommendRequest) -> list[dict]:
        errors = []

        def error(loc, msg):
            errors.append({"loc": list(loc), "msg": msg})

        catalogue, person = self.catalogue, request.person
        region = person.region
        if region not in catalogue.regions:
            error(
                ("person", "region"),
                f"unknown region {region!r}; expected one of {list(catalogue.region_codes)}",
            )
        elif region not in self.model.seen_regions_:
            error(
                ("person", "region"), f"the model never saw region {region!r}; it cannot serve it"
            )
        covariates = person.covariates()
        for column in self._covariates:
            value = covariates.get(column)
            categorical = column in self.model.categories_
            if value is None:
                error(("person", column), "missing: the model reads this covariate")
            elif categorical and (
                not isinstance(value, str) or value not in self.model.categories_[column]
            ):
                error(
                    ("person", column),
                    f"expected one of {self.model.categories_[column][:10]}, got {value!r}",
                )
            elif not categorical and (isinstance(value, (str, bool))):
                error(("person", column), f"expected a number, got {value!r}")
        offered = set(catalogue.regions[region].offers) if region in catalogue.regions else None
        top = catalogue.max_step
        previous_start, last_end = 0, 0
        open_until: dict[str, int] = {}
        for i, episode in enumerate(request.history):
            at = ("history", i)
            code = episode.intervention
            if code not in catalogue.interventions:
                error(
                    (*at, "intervention"),
                    f"unknown intervention {code!r}; expected one of "
                    f"{list(catalogue.intervention_codes)}",
                )
            elif offered is not None and code not in offered:
                error((*at, "intervention"), f"{code!r} is not offered in region {region!r}")
            for field in ("step_before", "step_after"):
                if getattr(episode, field) > top:
                    error(
                        (*at, field),
                        f"must be a step from 0 to {top}, got {getattr(episode, field)}",
                    )
            if episode.start_day < previous_start:
                error(
                    (*at, "start_day"),
                    f"earlier than the previous episode's start_day ({previous_start})",
                )
            if episode.start_day < open_until.get(code, 0):
                error(
                    (*at, "start_day"),
                    f"overlaps the previous {code!r} episode, which ends on day {open_until[code]}",
                )
            previous_start, last_end = episode.start_day, episode.end_day
            open_until[code] = max(open_until.get(code, 0), episode.end_day)
        if request.current_step is not None and request.current_step > top:
            error(("current_step",), f"must be a step from 0 to {top}, got {request.current_step}")
        if request.day is not None and request.history and request.day < last_end:
            error(("day",), f"{request.day} is before the last episode's end_day ({last_end})")
        return errors

    def _person_values(self, request: RecommendRequest) -> dict:
        """The person's fields the model reads (covariates it was not fitted on left out)."""
        person = request.person.model_dump(exclude={"person_id", "exit_day", "exit_reason"})
        person = {k: v for k, v in person.items() if not k.startswith("x_")}
        covariates = request.person.covariates()
        return {**person, **{c: covariates[c] for c in self._covariates}}

    def _answer(self, request, values, X, estimates, plans, reasons) -> Recommendation:
        lang, catalogue = request.lang, self.catalogue
        codes = self._codes
        usual = int(estimates.usual[0])
        ranked = estimates.ranked(0)
        if self.model.recommends_usual_path_:  # see adapt.selection: the usual path first
            ranked = np.r_[usual, ranked[ranked != usual]]
        ranked = ranked[: request.k]
        sentences = Sentences(catalogue, lang)
        if reasons:
            contributions = arm_contributions(self.model, X, np.r_[ranked, usual])
            names, table = list(contributions.columns), contributions.to_numpy()
        options = []
        for row, arm in enumerate(ranked):
            if reasons:
                own = table[row] if arm == usual else table[row] - table[-1]
                against = dict(zip(names, own, strict=True))
            options.append(
                Option(
                    intervention=codes[arm],
                    name=catalogue.interventions[codes[arm]].name(lang),
                    probability=estimates.p[0, arm],
                    probability_interval=Interval(
                        lower=estimates.p_lower[0, arm], upper=estimates.p_upper[0, arm]
                    ),
                    uplift=estimates.uplift[0, arm],
                    uplift_interval=Interval(
                        lower=estimates.uplift_lower[0, arm], upper=estimates.uplift_upper[0, arm]
                    ),
                    reasons=sentences.reasons(against, values, codes[arm], codes[usual])
                    if reasons
                    else [],
                )
            )
        fallback = self.model.recommends_usual_path_
        confident = not fallback and any(o.uplift_interval.lower > 0 for o in options)
        step = int(values["current_step"])
        plan = [
            PlannedStep(
                position=i + 1,
                intervention=code,
                name=catalogue.interventions[code].name(lang),
                probability=float(plans.p_progress[0, i]),
                expected_step=float(plans.expected_step[0, i]),
            )
            for i, code in enumerate(plans.interventions[0])
        ]
        return Recommendation(
            options=options,
            plan=plan,
            journey=_journey(request, plan, step, catalogue, lang),
            current_step=StepInfo(level=step, name=catalogue.steps[step].name(lang)),
            usual_path=Named(
                code=codes[usual], name=catalogue.interventions[codes[usual]].name(lang)
            ),
            model_version=self.version,
            confident=confident,
            notice=_USUAL_PATH[lang] if fallback else None if confident else _NOT_CONFIDENT[lang],
            lang=lang,
        )


_NOT_CONFIDENT = {
    "sv": "Ingen av insatserna ger säkert ett bättre utfall än den vanliga vägen. "
    "Prata med din handläggare om vad som passar dig.",
    "en": "None of the interventions is clearly better than the usual path. "
    "Talk to your caseworker about what suits you.",
}


_USUAL_PATH = {
    "sv": "Uppgifterna visar inte att någon insats ger bättre utfall än den vanliga vägen, "
    "så den föreslås först. Prata med din handläggare om vad som passar dig.",
    "en": "The data do not show any intervention doing better than the usual path, so it "
    "comes first. Talk to your caseworker about what suits you.",
}


def _journey(request, plan, step, catalogue, lang) -> list[JourneyItem]:
    done = [
        JourneyItem(
            status="done",
            position=i + 1,
            intervention=e.intervention,
            name=catalogue.interventions[e.intervention].name(lang),
            start_day=e.start_day,
            end_day=e.end_day,
            step_before=e.step_before,
            step_after=e.step_after,
        )
        for i, e in enumerate(request.history)
    ]
    before = float(step)
    planned = []
    for item in plan:
        planned.append(
            JourneyItem(
                status="planned",
                position=len(done) + item.position,
                intervention=item.intervention,
                name=item.name,
                step_before=before,
                step_after=item.expected_step,
            )
        )
        before = item.expected_step
    return done + planned


def _plain(raw):
    """Requests as JSON-like data for strict validation: pydantic models and pandas rows as
    dicts, numpy scalars as Python ones, pandas' missing values as None (types are not
    converted: a float age is still refused)."""
    if hasattr(raw, "model_dump"):
        return raw.model_dump()
    if isinstance(raw, pd.Series):
        raw = raw.to_dict()
    if isinstance(raw, dict):
        return {key: _plain(value) for key, value in raw.items()}
    if isinstance(raw, (list, tuple)):
        return [_plain(value) for value in raw]
    if isinstance(raw, pd.DataFrame):
        return [_plain(row) for _, row in raw.iterrows()]
    if raw is pd.NA or raw is pd.NaT:
        return None
    if isinstance(raw, np.generic):
        return raw.item()
    return raw

"""recommend(): the next interventions for one person, explained and planned.

The guide site's call: a person and their past episodes in, the top options with reasons, an
ordered plan and the journey out. `Recommender` holds one loaded model; `load_recommender`
reads a model folder or an MLflow model URI once per process.
"""

from __future__ import annotations

from adapt.recommender._errors import InvalidRequest
from adapt.recommender._loading import MODEL_ENV, default_recommender, load_recommender
from adapt.recommender._recommender import Estimates, Recommender
from adapt.recommender._schemas import (
    MAX_HISTORY,
    MAX_K,
    Episode,
    Person,
    Recommendation,
    RecommendRequest,
)


def recommend(
    person,
    history=(),
    *,
    k: int = 3,
    lang: str = "sv",
    day: int | None = None,
    current_step: int | None = None,
    model=None,
) -> Recommendation:
    """The top-`k` next interventions for `person`, with reasons, a plan and the journey.

    Parameters
    ----------
    person : mapping
        The persons-contract fields (``person_id`` and the exit fields are not needed);
        ``x_`` covariates when the model uses them.
    history : sequence of mappings
        Past episodes in order: ``intervention``, ``start_day``, ``end_day``, ``hours``,
        ``step_before``, ``step_after``.
    k : int
        Options shown and plan length, 1 to 5.
    lang : {"sv", "en"}
        Language of names, reasons and notices.
    day : int, optional
        Today, in days since entry (default: the last episode's ``end_day``, or 0).
    current_step : int, optional
        The step the person stands on (default: the last ``step_after``, or 0).
    model : Recommender, folder or MLflow URI, optional
        Default: the model named by ``ADAPT_MODEL``.

    Raises
    ------
    InvalidRequest
        Naming every field that is wrong.
    """
    recommender = (
        model
        if isinstance(model, Recommender)
        else default_recommender()
        if model is None
        else load_recommender(model)
    )
    return recommender.recommend(
        person, history, k=k, lang=lang, day=day, current_step=current_step
    )


__all__ = [
    "MAX_HISTORY",
    "MAX_K",
    "MODEL_ENV",
    "Episode",
    "Estimates",
    "InvalidRequest",
    "Person",
    "RecommendRequest",
    "Recommendation",
    "Recommender",
    "default_recommender",
    "load_recommender",
    "recommend",
]

"""recommend(): options, reasons, plan and journey for one person; the same answer as the batch
path; every wrong field named."""

import numpy as np
import pandas as pd
import pytest

import adapt
from adapt.explain import NEVER_A_REASON, Sentences, arm_contributions
from adapt.features import SENSITIVE, decision_points, next_decision_points_for
from adapt.models import SLearner
from adapt.policies import recommend_for_decisions
from adapt.recommender import InvalidRequest, Recommendation, Recommender


def _person(data, i):
    return data["persons"].iloc[i]


def _history(data, person_id, before=None):
    episodes = data["episodes"]
    mine = episodes[episodes["person_id"] == person_id].sort_values("episode_no")
    if before is not None:
        mine = mine[mine["episode_no"] < before]
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in mine.drop(columns=["person_id", "episode_no"]).to_dict("records")
    ]


def _with_episodes(data, minimum=3):
    counts = data["episodes"].groupby("person_id").size()
    ids = counts[counts >= minimum].index
    return data["persons"].index[data["persons"]["person_id"].isin(ids)].to_numpy()


def test_answer_holds_ranked_options_reasons_plan_and_journey(served_data, recommender):
    i = _with_episodes(served_data)[0]
    person = _person(served_data, i)
    history = _history(served_data, person["person_id"])
    answer = recommender.recommend(person, history, k=3, lang="sv")
    assert isinstance(answer, Recommendation)
    assert len(answer.options) == 3
    probabilities = [o.probability for o in answer.options]
    assert probabilities == sorted(probabilities, reverse=True)
    offered = recommender.catalogue.regions[person["region"]].offers
    for option in answer.options:
        assert option.intervention in offered
        assert 2 <= len(option.reasons) <= 4
        assert option.probability_interval.lower <= option.probability
        assert option.probability <= option.probability_interval.upper
        assert option.uplift_interval.lower <= option.uplift <= option.uplift_interval.upper
        assert option.name == recommender.catalogue.interventions[option.intervention].sv
    assert [p.position for p in answer.plan] == [1, 2, 3]
    done = [j for j in answer.journey if j.status == "done"]
    planned = [j for j in answer.journey if j.status == "planned"]
    assert [j.intervention for j in done] == [e["intervention"] for e in history]
    assert [j.intervention for j in planned] == [p.intervention for p in answer.plan]
    assert answer.current_step.level == history[-1]["step_after"]
    assert answer.confident == any(o.uplift_interval.lower > 0 for o in answer.options)
    assert (answer.notice is None) == answer.confident
    # JSON-serialisable, and the same model answers the same way again
    assert Recommendation.model_validate_json(answer.model_dump_json()) == answer
    assert recommender.recommend(person, history, k=3, lang="sv") == answer


def test_english_answer_names_and_reasons_in_english(served_data, recommender):
    i = _with_episodes(served_data)[1]
    person = _person(served_data, i)
    history = _history(served_data, person["person_id"])
    sv = recommender.recommend(person, history, lang="sv")
    en = recommender.recommend(person, history, lang="en")
    assert [o.intervention for o in sv.options] == [o.intervention for o in en.options]
    for option in en.options:
        assert option.name == recommender.catalogue.interventions[option.intervention].en
        assert all(r.endswith(".") for r in option.reasons)
    assert en.options[0].reasons != sv.options[0].reasons


def test_first_option_is_what_the_batch_path_recommends(served_data, recommender):
    """No training/serving skew: at recorded decision points the online answer's first option
    and its probabilities are the batch path's."""
    model = recommender.model
    batch = recommend_for_decisions(model, served_data["persons"], served_data["episodes"])
    rows = batch[batch["episode_no"] >= 1].sample(25, random_state=0)
    persons = served_data["persons"].set_index("person_id", drop=False)
    for _, row in rows.iterrows():
        person = persons.loc[row["person_id"]]
        history = _history(served_data, row["person_id"], before=row["episode_no"])
        episodes = served_data["episodes"]
        step = episodes[
            (episodes["person_id"] == row["person_id"])
            & (episodes["episode_no"] == row["episode_no"])
        ]["step_before"].item()
        answer = recommender.recommend(person, history, k=1, current_step=step, reasons=False)
        assert answer.options[0].intervention == row["recommended"]
        assert answer.options[0].probability == pytest.approx(
            row[f"p_{row['recommended']}"], rel=1e-9
        )


def test_no_history_starts_on_step_zero_and_current_step_overrides(served_data, recommender):
    person = _person(served_data, 0)
    assert recommender.recommend(person, []).current_step.level == 0
    assert recommender.recommend(person, [], current_step=2).current_step.level == 2


def test_contributions_explain_the_difference_exactly_in_log_odds(served_data, recommender):
    """Per bag, the SHAP values of option minus usual path sum to the difference of the two raw
    scores: the mean over bags is what the reasons rank."""
    model = recommender.model
    person = served_data["persons"].iloc[[3]]
    mine = served_data["episodes"][
        served_data["episodes"]["person_id"] == person["person_id"].iloc[0]
    ]
    X = next_decision_points_for(model, person, mine).features
    offered = np.flatnonzero(~np.isnan(model.predict(X).to_numpy()[0]))
    table = arm_contributions(model, X, offered)
    raw = []
    for fitted in model.estimators_:
        [(lgbm, frame, _, _)] = model._explained_parts(
            fitted, model._check_predict_input(X), np.zeros(len(offered), int), offered
        )
        raw.append(lgbm.predict(frame, raw_score=True))
    raw = np.mean(raw, axis=0)
    differences = table.sum(axis=1).to_numpy()
    np.testing.assert_allclose(differences - differences[0], raw - raw[0], atol=1e-9)


def test_gender_and_violence_exposure_are_never_reasons(served_data, recommender):
    assert set(SENSITIVE) <= set(recommender.model.feature_names_in_)  # the model reads them
    catalogue = recommender.catalogue
    for lang in ("sv", "en"):
        sentences = Sentences(catalogue, lang)
        contributions = pd.Series(
            {"gender": 5.0, "violence_exposure": -4.0, "age": 0.1, "mental_ill_health": 0.05}
        )
        values = {
            "gender": "woman",
            "violence_exposure": 1.0,
            "age": 30.0,
            "mental_ill_health": 1.0,
            "current_step": 1,
        }
        reasons = sentences.reasons(contributions, values, "ips", "case_management")
        assert len(reasons) == 2
        assert not any(
            word in " ".join(reasons).lower()
            for word in ("kvinna", "woman", "våld", "violence", "kön", "gender")
        )
    assert frozenset(SENSITIVE) == NEVER_A_REASON


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p, h: p.update(region="atlantis"), "person.region"),
        (lambda p, h: p.update(age=12), "person.age"),
        (lambda p, h: p.update(age="34"), "person.age"),
        (lambda p, h: p.update(born_abroad=1), "person.born_abroad"),
        (lambda p, h: p.update(years_on_support=float("nan")), "person.years_on_support"),
        (lambda p, h: p.pop("gender"), "person.gender"),
        (lambda p, h: p.update(favourite_colour="blue"), "person"),
        (lambda p, h: h[0].update(intervention="yoga"), "history[0].intervention"),
        (lambda p, h: h[0].update(end_day=-1), "history[0].end_day"),
        (lambda p, h: h[1].update(start_day=h[0]["start_day"] - 1), "history[1].start_day"),
        (lambda p, h: h[0].update(step_after=9), "history[0].step_after"),
        (lambda p, h: h[0].update(hours=float("inf")), "history[0].hours"),
    ],
)
def test_wrong_fields_are_named(served_data, recommender, change, field):
    i = _with_episodes(served_data)[0]
    person = {
        k: (v.item() if hasattr(v, "item") else v) for k, v in _person(served_data, i).items()
    }
    history = _history(served_data, person["person_id"])
    history[0].update(start_day=10, end_day=20)
    history[1].update(start_day=25, end_day=30)
    change(person, history)
    with pytest.raises(InvalidRequest) as caught:
        recommender.recommend(person, history)
    assert field in str(caught.value)


def test_region_offers_day_and_step_are_checked(served_data, recommender):
    catalogue = recommender.catalogue
    person = {
        k: (v.item() if hasattr(v, "item") else v) for k, v in _person(served_data, 0).items()
    }
    not_offered = next(
        c
        for c in catalogue.intervention_codes
        if c not in catalogue.regions[person["region"]].offers
    )
    episode = {
        "intervention": not_offered,
        "start_day": 0,
        "end_day": 10,
        "hours": 5.0,
        "step_before": 0,
        "step_after": 0,
    }
    with pytest.raises(InvalidRequest, match=r"history\[0\]\.intervention: .*not offered"):
        recommender.recommend(person, [episode])
    offered = catalogue.regions[person["region"]].offers[0]
    episode["intervention"] = offered
    with pytest.raises(InvalidRequest, match=r"^day: 5 is before"):
        recommender.recommend(person, [episode], day=5)
    with pytest.raises(InvalidRequest, match="current_step"):
        recommender.recommend(person, [episode], current_step=catalogue.max_step + 1)
    with pytest.raises(InvalidRequest, match="^k: "):
        recommender.recommend(person, [episode], k=0)
    later = recommender.recommend(person, [episode], day=400, reasons=False)
    assert later.current_step.level == 0


def test_today_sets_the_time_features_of_the_decision(served_data, recommender):
    persons = served_data["persons"].iloc[[0]]
    episodes = pd.DataFrame(
        [
            {
                "person_id": persons["person_id"].iloc[0],
                "episode_no": 1,
                "intervention": recommender.catalogue.regions[persons["region"].iloc[0]].offers[0],
                "start_day": 0,
                "end_day": 10,
                "hours": 5.0,
                "step_before": 0,
                "step_after": 1,
            }
        ]
    )
    default = next_decision_points_for(recommender.model, persons, episodes).features
    later = next_decision_points_for(recommender.model, persons, episodes, day=400).features
    assert default["days_since_entry"].item() == 10
    assert later["days_since_entry"].item() == 400
    assert later["days_in_previous"].item() == 400


def test_a_region_the_model_never_saw_is_refused(served_data, recommender):
    persons, episodes = served_data["persons"], served_data["episodes"]
    unseen = persons["region"].iloc[0]
    kept = persons[persons["region"] != unseen]
    points = decision_points(kept, episodes[episodes["person_id"].isin(kept["person_id"])])
    model = SLearner(n_estimators=5, n_bags=2).fit(
        points.features, points.treatment, points.outcome, points.keys["person_id"]
    )
    partial = Recommender(model, recommender.transitions)
    person = {
        k: (v.item() if hasattr(v, "item") else v) for k, v in _person(served_data, 0).items()
    }
    with pytest.raises(InvalidRequest, match="person.region: the model never saw"):
        partial.recommend(person, [])


def test_adapt_recommend_uses_the_model_named_by_the_environment(
    served_data, model_folder, monkeypatch
):
    person = _person(served_data, 0)
    monkeypatch.delenv("ADAPT_MODEL", raising=False)
    with pytest.raises(ValueError, match="ADAPT_MODEL"):
        adapt.recommend(person)
    monkeypatch.setenv("ADAPT_MODEL", str(model_folder))
    assert (
        adapt.recommend(person, k=2).options
        == adapt.recommend(person, k=2, model=model_folder).options
    )


def test_a_model_that_falls_back_puts_the_usual_path_first(served_data, model_folder):
    import copy

    from adapt.recommender import load_recommender

    loaded = load_recommender(model_folder)  # may be cached: change a copy, not the shared one
    fallen = Recommender(copy.deepcopy(loaded.model), loaded.transitions)
    fallen.model.recommends_usual_path_ = True
    i = _with_episodes(served_data)[0]
    person = _person(served_data, i)
    history = _history(served_data, person["person_id"])
    for lang in ("sv", "en"):
        answer = fallen.recommend(person, history, k=3, lang=lang)
        assert answer.options[0].intervention == answer.usual_path.code
        assert len({o.intervention for o in answer.options}) == 3
        assert not answer.confident and answer.notice
    batch = recommend_for_decisions(fallen.model, served_data["persons"], served_data["episodes"])
    points = decision_points(served_data["persons"], served_data["episodes"])
    usual = fallen.model.usual_path(points.features)
    assert (batch["recommended"].to_numpy() == usual.to_numpy()).all()


def test_batch_answers_do_not_depend_on_the_chunk_size(served_data, recommender):
    persons = served_data["persons"].iloc[:40]
    episodes = served_data["episodes"][
        served_data["episodes"]["person_id"].isin(persons["person_id"])
    ]
    by_nine, _ = recommender.next_decisions(persons, episodes, chunk_size=9)
    whole, _ = recommender.next_decisions(persons, episodes, chunk_size=1000)
    pd.testing.assert_frame_equal(by_nine, whole)
    model = recommender.model
    pd.testing.assert_frame_equal(
        recommend_for_decisions(model, persons, episodes, interval=0.9, chunk_size=6),
        recommend_for_decisions(model, persons, episodes, interval=0.9),
    )

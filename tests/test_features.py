"""Decision-point features: the right rows, the right history, and nothing from the future."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapt.features import (
    SENSITIVE,
    decision_points,
    history_columns,
    next_decision_points,
    next_decision_values,
    ordered_columns,
)
from adapt.simulation import Oracle, simulate


@pytest.fixture(scope="module")
def data():
    return simulate(1500, seed=21, truth=False)


def test_one_row_per_episode_with_outcome_and_treatment(data):
    points = decision_points(data["persons"], data["episodes"])
    assert len(points) == len(data["episodes"])
    merged = points.keys.assign(t=points.treatment.astype(str), y=points.outcome).merge(
        data["episodes"], on=["person_id", "episode_no"]
    )
    assert (merged["t"] == merged["intervention"]).all()
    assert (merged["y"] == (merged["step_after"] > merged["step_before"])).all()


def test_history_counts_only_earlier_episodes(data):
    points = decision_points(data["persons"], data["episodes"])
    first = points.keys["episode_no"] == 1
    counts = points.features[[c for c in history_columns_of(points) if c.startswith("n_")]]
    assert (counts[first].to_numpy() == 0).all()
    assert (counts.sum(axis=1) == points.keys["episode_no"] - 1).all()
    assert (points.features.loc[first, "previous_intervention"] == "none").all()


def history_columns_of(points):
    return [
        c for c in points.features.columns if c.startswith(("n_", "hours_")) and c != "n_previous"
    ]


@settings(max_examples=25, deadline=None)
@given(person=st.integers(0, 400), change=st.sampled_from(["step_after", "intervention", "hours"]))
def test_the_future_never_changes_a_decision_row(data, person, change):
    """Rewriting episode n and everything after it leaves row n's features as they were."""
    episodes = data["episodes"]
    pid = data["persons"]["person_id"].iloc[person]
    own = episodes.index[episodes["person_id"] == pid]
    if len(own) == 0:
        return
    n = int(episodes.loc[own, "episode_no"].max())
    altered = episodes.copy()
    later = own[episodes.loc[own, "episode_no"] >= n]
    if change == "step_after":
        altered.loc[later, "step_after"] = (altered.loc[later, "step_after"] + 1) % 6
    elif change == "intervention":
        altered.loc[later, "intervention"] = "activity_centre"
    else:
        altered.loc[later, "hours"] = altered.loc[later, "hours"] * 3 + 1
    before = decision_points(data["persons"], episodes, history="ordered")
    after = decision_points(data["persons"], altered, history="ordered")
    row = np.flatnonzero((before.keys["person_id"] == pid) & (before.keys["episode_no"] == n))
    pd.testing.assert_frame_equal(before.features.iloc[row], after.features.iloc[row])


def _hashed_policy(salt: int, switch_at: int | None = None):
    """Each person's choice is a fixed pseudo-random offered intervention; from episode
    `switch_at` on, another one (a different policy only from that decision)."""

    def policy(batch):
        offered = batch.available.to_numpy()
        codes = np.asarray(batch.available.columns)
        person = batch.persons["person_id"].str.replace(r"\D", "", regex=True).astype(np.int64)
        key = person.to_numpy() * 31 + batch.episode_no * 7 + salt
        if switch_at is not None:
            key = key + (batch.episode_no >= switch_at) * 1_000_003
        rank = (key[:, None] * (np.arange(offered.shape[1]) + 13)) % 97
        return codes[np.where(offered, rank, -1).argmax(axis=1)]

    return policy


@settings(max_examples=6, deadline=None)
@given(salt=st.integers(0, 1000), switch_at=st.integers(2, 5))
def test_changing_the_choice_in_the_simulator_changes_no_feature_of_that_decision(salt, switch_at):
    """Two rollouts with the same random numbers differ from episode `switch_at` on, through the
    simulator's own rules (timing of overlapping starts included): row `switch_at` must be the
    same in both, whatever was chosen there."""
    oracle = Oracle(seed=salt)
    runs = [oracle.rollout(_hashed_policy(salt, at), n_persons=1000) for at in (None, switch_at)]
    points = [decision_points(r.persons, r.episodes, history="ordered") for r in runs]
    rows, chosen = [], []
    for p in points:
        at = p.keys.index[p.keys["episode_no"] == switch_at]
        person = p.keys.loc[at, "person_id"]
        rows.append(p.features.loc[at].set_index(person))
        chosen.append(pd.Series(p.treatment.loc[at].to_numpy(), index=person))
    common = rows[0].index.intersection(rows[1].index)
    changed = chosen[0].loc[common] != chosen[1].loc[common]
    assert len(common) > 50 and changed.mean() > 0.5
    pd.testing.assert_frame_equal(rows[0].loc[common], rows[1].loc[common])


def test_row_order_of_the_input_does_not_matter(data):
    shuffled = data["episodes"].sample(frac=1.0, random_state=0)
    a = decision_points(data["persons"], data["episodes"], history="ordered")
    b = decision_points(data["persons"], shuffled, history="ordered")
    pd.testing.assert_frame_equal(a.features, b.features)


def test_extra_covariates_are_used_and_sensitive_ones_can_be_left_out(data):
    persons = data["persons"].assign(
        x_distance_km=np.arange(len(data["persons"])) % 7,
        x_municipality=["a", "b", "c"] * (len(data["persons"]) // 3),
    )
    points = decision_points(persons, data["episodes"])
    assert {"x_distance_km", "x_municipality"} <= set(points.features.columns)
    without = decision_points(persons, data["episodes"], include_sensitive=False)
    assert not set(SENSITIVE) & set(without.features.columns)


def test_history_columns_cover_the_catalogue():
    from adapt.catalogue import load_catalogue

    cat = load_catalogue()
    assert len(history_columns(cat)) == 2 * len(cat.intervention_codes)


def test_orphan_episodes_are_named(data):
    with pytest.raises(ValueError, match="persons table lacks"):
        decision_points(data["persons"].iloc[10:], data["episodes"])


def _episodes(person_id, codes, steps, days=30):
    """A hand-made history: `codes` in order, `steps` the ladder before the first and after each."""
    return pd.DataFrame(
        {
            "person_id": person_id,
            "episode_no": np.arange(1, len(codes) + 1),
            "intervention": codes,
            "start_day": np.arange(len(codes)) * days,
            "end_day": np.arange(1, len(codes) + 1) * days,
            "hours": 10.0,
            "step_before": steps[:-1],
            "step_after": steps[1:],
        }
    )


def test_the_ordered_history_tells_apart_what_counts_cannot(data):
    persons = data["persons"].head(2).copy()
    a, b = persons["person_id"]
    course, training, se = "mobilisation_course", "work_training_employer", "supported_employment"
    episodes = pd.concat(
        [
            _episodes(a, [course, training, se], [1, 1, 2, 2]),
            _episodes(b, [training, course, se], [1, 1, 1, 2]),
        ]
    )
    summary = decision_points(persons, episodes)
    ordered = decision_points(persons, episodes, history="ordered")
    third = ordered.keys["episode_no"] == 3
    counts = summary.features.loc[third, [c for c in summary.features if c.startswith("n_")]]
    assert (counts.iloc[0] == counts.iloc[1]).all()  # the same interventions, so far
    rows = ordered.features[third].reset_index(drop=True)
    assert list(rows["families_last_two"].astype(str)) == [
        "readiness_course>work_training",
        "work_training>readiness_course",
    ]
    assert list(rows["last_2"].astype(str)) == [course, training]
    # a climbed with the course (episode 2 left step 2): one episode, 30 days since the change.
    assert rows.loc[0, "change_1"] == 1 and rows.loc[0, "episodes_at_step"] == 0
    assert rows.loc[1, "change_1"] == 0 and rows.loc[1, "episodes_at_step"] == 2
    assert rows.loc[1, "days_at_step"] == 60 and rows.loc[1, "hours_at_step"] == 20
    assert rows.loc[0, "episodes_since_gain"] == 1 and np.isnan(rows.loc[1, "episodes_since_gain"])
    assert set(ordered_columns()) <= set(ordered.features.columns)


def test_the_next_decision_has_the_features_its_episode_would_have(data):
    persons, episodes = data["persons"], data["episodes"]
    last_no = episodes.groupby("person_id")["episode_no"].transform("max")
    last = episodes[last_no == episodes["episode_no"]].set_index("person_id")
    with_history = persons[persons["person_id"].isin(last.index)]
    step = last.loc[with_history["person_id"], "step_before"].to_numpy()
    upcoming = next_decision_points(
        with_history,
        episodes[episodes["episode_no"] < last_no],
        history="ordered",
        current_step=step,
    )
    full = decision_points(with_history, episodes, history="ordered")
    is_last = (
        full.keys["episode_no"].to_numpy()
        == last.loc[full.keys["person_id"], "episode_no"].to_numpy()
    )
    expected = full.features[is_last].set_index(full.keys["person_id"][is_last].to_numpy())
    expected = expected.loc[with_history["person_id"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(upcoming.features, expected, check_dtype=False)
    assert upcoming.keys["person_id"].tolist() == with_history["person_id"].tolist()


def test_a_new_person_starts_at_step_zero_with_no_history(data):
    upcoming = next_decision_points(data["persons"].head(3), data["episodes"].iloc[:0])
    assert upcoming.features["current_step"].tolist() == [0, 0, 0]
    assert upcoming.features["n_previous"].tolist() == [0, 0, 0]


def test_an_unknown_history_is_refused(data):
    with pytest.raises(ValueError, match="history must be one of"):
        decision_points(data["persons"], data["episodes"], history="full")


@pytest.mark.parametrize("history", ["summary", "ordered"])
def test_one_persons_next_decision_in_plain_python_equals_the_table_path(history):
    """`next_decision_values` (the live path) gives `next_decision_points`' row value for value,
    for histories cut anywhere, today's day later than the last episode and any current step."""
    data = simulate(300, seed=3)
    persons, episodes = data["persons"], data["episodes"]
    rng = np.random.default_rng(0)
    for i, person_id in enumerate(persons["person_id"][:60]):
        mine = episodes[episodes["person_id"] == person_id].sort_values("episode_no")
        part = mine.iloc[: rng.integers(0, len(mine) + 1)]
        last_end = int(part["end_day"].iloc[-1]) if len(part) else 0
        day = None if i % 2 else last_end + int(rng.integers(0, 300))
        step = None if i % 3 else int(rng.integers(0, 6))
        sensitive = bool(i % 4)
        this = persons[persons["person_id"] == person_id]
        expected = next_decision_points(
            this, part, include_sensitive=sensitive, history=history, current_step=step, day=day
        ).features.iloc[0]
        got = next_decision_values(
            this.iloc[0].to_dict(),
            part.drop(columns=["person_id", "episode_no"]).to_dict("records"),
            include_sensitive=sensitive,
            history=history,
            current_step=step,
            day=day,
        )
        assert list(got) == list(expected.index)
        for column, value in expected.items():
            if isinstance(value, str):
                assert got[column] == value, (person_id, column)
            elif pd.isna(value):
                assert got[column] is None or np.isnan(got[column]), (person_id, column)
            else:
                assert got[column] == pytest.approx(float(value), abs=1e-9), (person_id, column)

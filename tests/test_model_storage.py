"""Saved models: JSON and LightGBM's text, no pickle; the same estimates after loading; models
saved by an earlier release keep loading."""

import json
import shutil
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from adapt.features import decision_points
from adapt.models import LEARNERS, load_model, save_model
from adapt.models._lightgbm import Trees
from adapt.simulation import simulate

FIXTURES = Path(__file__).parent / "fixtures" / "models"
TINY = dict(n_estimators=8, num_leaves=7, n_bags=3, propensity_n_estimators=3, random_state=2)
PICKLE_MAGIC = b"\x80"  # every pickle protocol since 2 starts with this byte


@pytest.fixture(scope="module")
def data():
    return simulate(400, seed=17)


def _fitted(data, name, **params):
    learner = LEARNERS[name]
    points = decision_points(data["persons"], data["episodes"], history=learner.history)
    model = learner(**{**TINY, **params}).fit(
        points.features, points.treatment, points.outcome, points.keys["person_id"]
    )
    return model, points.features


def _no_pickle_in(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            assert path.suffix in {".json", ".txt"}, path
            assert not path.read_bytes().startswith(PICKLE_MAGIC), path


@pytest.mark.parametrize("name", sorted(LEARNERS))
@pytest.mark.parametrize("point_estimate", ["bags", "full"])
def test_every_learner_loads_as_it_was_saved(data, name, point_estimate, tmp_path):
    model, X = _fitted(data, name, point_estimate=point_estimate)
    folder = save_model(model, tmp_path / "m")
    _no_pickle_in(folder)
    again = load_model(folder)
    pd.testing.assert_frame_equal(again.predict(X), model.predict(X))
    for got, want in zip(again.predict_interval(X), model.predict_interval(X), strict=True):
        pd.testing.assert_frame_equal(got, want)
    pd.testing.assert_frame_equal(
        again.behaviour_probabilities(X), model.behaviour_probabilities(X)
    )
    # one model reached twice is one model again (the estimate of `bags` is its draws)
    assert (again.estimators_ is again.bag_estimators_) == (
        model.estimators_ is model.bag_estimators_
    )


def test_the_trees_are_lightgbm_text_and_the_rest_json(data, tmp_path):
    model, _ = _fitted(data, "s")
    folder = save_model(model, tmp_path / "m")
    state = json.loads((folder / "learner.json").read_text())
    assert state["format"] == 1
    assert state["learner"]["__object__"] == "adapt.models._s_learner.SLearner"
    boosters = sorted((folder / "boosters").iterdir())
    # three half-sample models and the behaviour model
    assert len(boosters) == 4
    assert all(p.read_text().startswith("tree\n") for p in boosters)


def test_a_model_saved_by_the_first_durable_release_still_loads():
    """`tests/fixtures/models`: saved by adapt 0.1.0 with LightGBM 4.7.0 (see make_models.py);
    never rewritten, so a change that breaks reading them fails here."""
    for name in LEARNERS:
        folder = FIXTURES / name
        model = load_model(folder)
        assert type(model) is LEARNERS[name]
        expected = json.loads((folder / "expected.json").read_text())
        encoded = model.encode_values(expected["rows"])
        for what in ("estimate", "draws", "behaviour"):
            got = getattr(model, what)(encoded)
            np.testing.assert_allclose(got, np.array(expected[what], float), rtol=0, atol=1e-12)


def test_a_pickled_model_of_an_earlier_release_loads_with_a_warning(data, tmp_path):
    model, X = _fitted(data, "s")
    folder = save_model(model, tmp_path / "m")
    shutil.rmtree(folder / "boosters")
    (folder / "learner.json").unlink()
    joblib.dump(model, folder / "model.joblib")  # the folder as adapt wrote it before
    with pytest.warns(FutureWarning, match="pickled model from an older adapt"):
        again = load_model(folder)
    pd.testing.assert_frame_equal(again.predict(X), model.predict(X))
    card = json.loads((folder / "model.json").read_text())
    card["versions"]["numpy"] = "1.26.4"  # a pickle's arrays depend on numpy's major version
    (folder / "model.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="saved with numpy 1.26.4"):
        load_model(folder)


def test_the_durable_format_depends_on_adapt_and_lightgbm_majors_only(data, tmp_path):
    model, _ = _fitted(data, "s")
    folder = save_model(model, tmp_path / "m")
    card = json.loads((folder / "model.json").read_text())
    card["versions"]["numpy"] = "1.26.4"
    (folder / "model.json").write_text(json.dumps(card))
    load_model(folder)
    card["versions"]["adapt"] = "7.0.0"
    (folder / "model.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match=r"saved with adapt 7\.0\.0.*another major version"):
        load_model(folder)


def _tampered(data, tmp_path, change) -> Path:
    model, _ = _fitted(data, "s")
    folder = save_model(model, tmp_path / "m")
    state = json.loads((folder / "learner.json").read_text())
    change(state)
    (folder / "learner.json").write_text(json.dumps(state))
    return folder


def test_a_newer_format_is_refused_in_one_line(data, tmp_path):
    folder = _tampered(data, tmp_path, lambda s: s.update(format=2))
    with pytest.raises(ValueError, match=r"written by a newer adapt \(format 2; this one reads"):
        load_model(folder)


def test_only_adapts_own_classes_are_made_again(data, tmp_path):
    def foreign(state):
        state["learner"]["state"]["propensity_"] = {"__object__": "os.system", "state": {}}

    with pytest.raises(ValueError, match=r"learner\.propensity_: 'os\.system' is not a class"):
        load_model(_tampered(data, tmp_path, foreign))


def test_a_booster_outside_the_folder_is_refused(data, tmp_path):
    def outside(state):
        models = state["learner"]["state"]["propensity_"]["state"]["models_"]
        models[0]["__trees__"] = "boosters/../../elsewhere.txt"

    with pytest.raises(ValueError, match="is not in"):
        load_model(_tampered(data, tmp_path, outside))


def test_what_cannot_be_saved_is_named(data, tmp_path):
    model, _ = _fitted(data, "s")
    model.propensity_.models_[0] = warnings  # a module: not a learner's part
    with pytest.raises(TypeError, match=r"cannot save learner\.propensity_\.models_\[0\]"):
        save_model(model, tmp_path / "m")


def test_trees_predict_as_lightgbms_own_classifier(data):
    import lightgbm as lgb

    from adapt.models import _lightgbm

    points = decision_points(data["persons"], data["episodes"])
    X, y = points.features, points.outcome
    settings = dict(n_estimators=10, learning_rate=0.1, num_leaves=7, min_child_samples=20)
    trees = _lightgbm.fit(_lightgbm.classifier(random_state=0, n_jobs=1, **settings), X, y)
    plain = lgb.LGBMClassifier(**_lightgbm._settings(random_state=0, n_jobs=1, **settings))
    plain.fit(X, y)
    assert isinstance(trees, Trees)
    np.testing.assert_array_equal(trees.predict(X), plain.predict_proba(X)[:, 1])


def test_a_fitted_learner_holds_no_scikit_learn_wrapper(data):
    model, _ = _fitted(data, "x")
    seen, stack = set(), [model]
    while stack:
        value = stack.pop()
        if id(value) in seen or isinstance(value, str | int | float | np.ndarray):
            continue
        seen.add(id(value))
        assert "lightgbm.sklearn" not in type(value).__module__, type(value)
        if isinstance(value, list | tuple):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif hasattr(value, "__dict__") and not isinstance(value, Trees):
            stack.extend(vars(value).values())


def test_a_damaged_state_file_is_refused_in_one_line(data, tmp_path):
    model, _ = _fitted(data, "s")
    folder = save_model(model, tmp_path / "m")
    state = folder / "learner.json"
    text = state.read_text()
    state.write_text(text[: len(text) // 2])  # cut short
    with pytest.raises(ValueError, match=r"learner\.json is not JSON"):
        load_model(folder)
    damaged = json.loads(text)
    del damaged["learner"]["state"]["propensity_"]["state"]["models_"][0]["classes"]
    state.write_text(json.dumps(damaged))
    with pytest.raises(ValueError, match=r"learner\.json is damaged \(KeyError: 'classes'\)"):
        load_model(folder)


# Values a fitted state holds: plain JSON values, and what JSON lacks (tuples, non-string keys,
# keys that look like the file's tags, numpy scalars and arrays, nan and infinities).
_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**62), 2**62),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.floats(allow_nan=True, width=64).map(np.float64),
    st.integers(-1000, 1000).map(np.int64),
    st.booleans().map(np.bool_),
    hnp.arrays(
        st.sampled_from([np.float64, np.int64, np.bool_]), hnp.array_shapes(max_dims=2, max_side=3)
    ),
    st.lists(st.text(max_size=3), max_size=3).map(lambda v: np.array(v, dtype=object)),
)
_KEYS = st.one_of(st.text(max_size=4), st.integers(0, 9), st.sampled_from(["__tuple__", "__ref__"]))
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(_KEYS, inner, max_size=3),
    ),
    max_leaves=12,
)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and all(
                _same(x, y) for x, y in zip(a.ravel().tolist(), b.ravel().tolist(), strict=True)
            )
        )
    if isinstance(a, float | np.floating) and np.isnan(a):
        return type(a) is type(b) and np.isnan(b)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=150, deadline=None)
@given(_VALUES)
def test_every_kind_of_value_a_state_holds_reads_back_as_written(value):
    from adapt.models._storage import _Reader, _Writer

    folder = Path("unused")  # no booster among these values: nothing is written
    node = json.loads(json.dumps(_Writer(folder).node(value, "value"), allow_nan=False))
    assert _same(value, _Reader(folder).value(node, "value"))


def test_one_object_reached_twice_is_one_object_again():
    from adapt.models._storage import _Reader, _Writer

    shared = [1.5, (2, "a")]
    value = {"first": shared, "again": shared, "other": [1.5, (2, "a")]}
    node = json.loads(json.dumps(_Writer(Path("unused")).node(value, "value")))
    again = _Reader(Path("unused")).value(node, "value")
    assert again["first"] is again["again"] and again["other"] is not again["first"]
    assert again == value

"""Evaluation: exact values by hand, invariants, unbiasedness on simulated data, plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from adapt.catalogue import load_catalogue
from adapt.evaluation import (
    BASELINES,
    OffPolicyEstimate,
    baseline_choices,
    compare_policies,
    doubly_robust,
    ips,
    off_policy_value,
    plot_policy_values,
    plot_qini_curves,
    policy_value,
    qini_auuc,
    random_policy_value,
    regret_closure,
    snips,
    truth_matrix,
)
from adapt.simulation import simulate

CAT = load_catalogue()
CODES = list(CAT.intervention_codes)
PROPS = settings(max_examples=40, deadline=None)
NAN = np.nan

# -- a hand-made truth: 3 decision points, interventions a, b, c ----------------------------------
TINY = pd.DataFrame(
    [[0.2, 0.5, NAN], [0.4, NAN, 0.9], [0.1, 0.3, 0.6]],
    columns=["a", "b", "c"],
    index=pd.MultiIndex.from_tuples([("p1", 1), ("p1", 2), ("p2", 1)]),
)
TINY.index.names = ["person_id", "episode_no"]

# -- a hand-made log: 4 rows, arms x and y --------------------------------------------------------
E4 = np.array([[0.5, 0.5], [0.8, 0.2], [0.25, 0.75], [0.4, 0.6]])
OBS4 = np.array(["x", "y", "y", "x"])
R4 = np.array([1.0, 0.0, 0.0, 1.0])
TARGET4 = np.array(["x", "x", "y", "y"])
MU4 = np.array([[0.6, 0.3], [0.5, 0.4], [0.2, 0.7], [0.9, 0.1]])
XY = ["x", "y"]


# == truth matrix =================================================================================
def test_truth_matrix_aligns_with_decisions_and_marks_unavailable():
    truth = pd.DataFrame(
        {
            "person_id": ["p2", "p1", "p1", "p2", "p1"],
            "episode_no": [1, 1, 2, 1, 1],
            "intervention": ["a", "a", "c", "c", "b"],
            "p_progress": [0.1, 0.2, 0.9, 0.6, 0.5],
        }
    )
    decisions = pd.DataFrame({"person_id": ["p2", "p1"], "episode_no": [1, 1]})
    tm = truth_matrix(truth, decisions, ["a", "b", "c"])
    assert list(tm.index) == [("p2", 1), ("p1", 1)]
    np.testing.assert_array_equal(tm.to_numpy(), [[0.1, NAN, 0.6], [0.2, 0.5, NAN]])


def test_truth_matrix_on_simulated_data_has_catalogue_columns_and_availability():
    d = simulate(300, seed=2)
    tm = truth_matrix(d["truth"], d["episodes"], CODES)
    assert list(tm.columns) == CODES and len(tm) == len(d["episodes"])
    regions = d["persons"].set_index("person_id").loc[d["episodes"]["person_id"], "region"]
    offered = CAT.availability().loc[regions, CODES].to_numpy()
    np.testing.assert_array_equal(~np.isnan(tm.to_numpy()), offered)


def test_truth_matrix_missing_decision_point_is_named():
    d = simulate(50, seed=1)
    decisions = pd.concat(
        [d["episodes"], pd.DataFrame({"person_id": ["P99999999"], "episode_no": [1]})]
    )
    with pytest.raises(ValueError, match=r"no probabilities for 1 of .*'P99999999', 1"):
        truth_matrix(d["truth"], decisions, CODES)


def test_truth_matrix_unknown_intervention_in_truth():
    d = simulate(20, seed=1)
    truth = d["truth"].copy()
    truth.loc[0, "intervention"] = "yoga"
    with pytest.raises(ValueError, match="unknown intervention codes 'yoga'"):
        truth_matrix(truth, d["episodes"], CODES)


# == policy values against the truth ==============================================================
def test_policy_value_and_baselines_exact():
    assert policy_value(["b", "c", "a"], TINY) == pytest.approx((0.5 + 0.9 + 0.1) / 3)
    assert random_policy_value(TINY) == pytest.approx((0.35 + 0.65 + (0.1 + 0.3 + 0.6) / 3) / 3)
    base = baseline_choices(TINY, ["a", "a", "b"], seed=0)
    assert list(base["behaviour"]) == ["a", "a", "b"]
    # mean p: a 0.233, b 0.4, c 0.75 -> c, falling back to b where c is not offered
    assert list(base["best_single"]) == ["b", "c", "c"]
    assert list(base["oracle"]) == ["b", "c", "c"]
    assert all(not np.isnan(TINY.loc[TINY.index[i], c]) for i, c in enumerate(base["random"]))


def test_oracle_ties_go_to_the_first_in_catalogue_order():
    tm = pd.DataFrame([[0.5, 0.5, 0.2], [NAN, 0.7, 0.7]], columns=["a", "b", "c"])
    assert list(baseline_choices(tm, ["a", "b"])["oracle"]) == ["a", "b"]


def test_regret_closure_exact():
    assert regret_closure(0.5, 0.3, 0.3 + 1.1 / 3) == pytest.approx(0.2 / (1.1 / 3))
    assert regret_closure(0.3, 0.3, 0.7) == 0.0
    assert regret_closure(0.7, 0.3, 0.7) == 1.0
    assert np.isnan(regret_closure(0.5, 0.4, 0.4))
    np.testing.assert_allclose(regret_closure([0.3, 0.5, 0.2], 0.3, 0.5), [0.0, 1.0, -0.5])


def test_compare_policies_table():
    table = compare_policies({"mine": ["b", "c", "a"]}, TINY, ["a", "a", "b"], n_bootstrap=50)
    assert list(table.index) == ["random", "behaviour", "best_single", "mine", "oracle"]
    assert table.loc["mine", "kind"] == "policy" and table.loc["oracle", "kind"] == "baseline"
    assert table.loc["mine", "value"] == pytest.approx(0.5)
    assert table.loc["behaviour", "value"] == pytest.approx(0.3)
    assert table.loc["random", "value"] == pytest.approx(random_policy_value(TINY))
    assert table.loc["mine", "regret_closure"] == pytest.approx(0.2 / (2 / 3 - 0.3))
    assert (table["value_low"] <= table["value"] + 1e-12).all()
    assert (table["value"] <= table["value_high"] + 1e-12).all()


def test_oracle_beats_every_baseline_on_simulated_data():
    d = simulate(2000, seed=5)
    tm = truth_matrix(d["truth"], d["episodes"], CODES)
    base = baseline_choices(tm, d["episodes"]["intervention"], seed=1)
    values = {name: policy_value(choices, tm) for name, choices in base.items()}
    values["random_exact"] = random_policy_value(tm)
    assert all(values["oracle"] >= v for v in values.values())
    assert values["random"] == pytest.approx(values["random_exact"], abs=0.03)
    table = compare_policies({}, tm, d["episodes"]["intervention"], n_bootstrap=100, seed=1)
    assert list(table.index) == ["random", "behaviour", "best_single", "oracle"]
    assert table.loc["oracle", "regret_closure"] == 1.0
    assert table.loc["behaviour", "regret_closure"] == 0.0
    assert table["value"].idxmax() == "oracle"


@st.composite
def truth_and_choices(draw):
    n, a = draw(st.integers(1, 12)), draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    values = rng.random((n, a))
    available = rng.random((n, a)) < 0.6
    available[np.arange(n), rng.integers(0, a, n)] = True
    tm = pd.DataFrame(np.where(available, values, NAN), columns=[f"i{j}" for j in range(a)])
    pick = lambda: np.asarray(tm.columns)[np.where(available, rng.random((n, a)), -1).argmax(1)]  # noqa: E731
    return tm, pick(), pick()


@PROPS
@given(truth_and_choices())
def test_policy_value_lies_between_row_minima_and_maxima(case):
    tm, choices, _ = case
    value = policy_value(choices, tm)
    rows = tm.to_numpy()
    assert np.nanmin(rows, axis=1).mean() - 1e-12 <= value <= np.nanmax(rows, axis=1).mean() + 1e-12
    assert policy_value(baseline_choices(tm, choices)["oracle"], tm) == pytest.approx(
        np.nanmax(rows, axis=1).mean()
    )


@PROPS
@given(truth_and_choices())
def test_regret_closure_of_oracle_is_one_and_of_behaviour_zero(case):
    tm, observed, other = case
    table = compare_policies({"other": other}, tm, observed, n_bootstrap=20)
    if table.loc["oracle", "value"] - table.loc["behaviour", "value"] > 1e-9:
        assert table.loc["oracle", "regret_closure"] == pytest.approx(1.0)
        assert table.loc["behaviour", "regret_closure"] == pytest.approx(0.0)
        assert table.loc["other", "regret_closure"] <= 1.0 + 1e-9
    assert (table["value"] <= table.loc["oracle", "value"] + 1e-12).all()


# == off-policy estimators ========================================================================
def test_ips_snips_dr_by_hand():
    # matched rows 0 (w = 1/0.5 = 2) and 2 (w = 1/0.75 = 4/3)
    assert ips(TARGET4, OBS4, R4, E4, interventions=XY) == pytest.approx((2 * 1 + 0) / 4)
    assert snips(TARGET4, OBS4, R4, E4, interventions=XY) == pytest.approx(2 / (2 + 4 / 3))
    dr_rows = [0.6 + 2 * (1 - 0.6), 0.5, 0.7 + 4 / 3 * (0 - 0.7), 0.1]
    expected = sum(dr_rows) / 4
    assert expected == pytest.approx(53 / 120)
    assert doubly_robust(TARGET4, OBS4, R4, E4, MU4, interventions=XY) == pytest.approx(expected)
    frame = pd.DataFrame(E4, columns=XY)[["y", "x"]]  # column order does not matter
    assert ips(TARGET4, OBS4, R4, frame) == pytest.approx(0.5)


def test_clip_is_explicit_and_counted():
    e = np.array([[0.99, 0.01], [0.5, 0.5]])
    args = (["y", "x"], ["y", "y"], [1.0, 1.0], e)
    assert ips(*args, interventions=XY) == pytest.approx(100 / 2)
    assert ips(*args, interventions=XY, clip=0.05) == pytest.approx(20 / 2)
    est = off_policy_value("ips", *args, interventions=XY, clip=0.05, n_bootstrap=0)
    assert est.n_clipped == 1 and est.max_weight == 20.0 and np.isnan(est.ci_low)
    zero = np.array([[1.0, 0.0], [0.5, 0.5]])
    with pytest.raises(ValueError, match="observed actions have behaviour propensity 0 on 1 row"):
        ips(["x", "x"], ["y", "x"], [1, 1], zero, interventions=XY)


def test_off_policy_value_result():
    est = off_policy_value(
        "dr", TARGET4, OBS4, R4, E4, MU4, interventions=XY, groups=["a", "a", "b", "b"]
    )
    assert isinstance(est, OffPolicyEstimate)
    assert est.estimate == pytest.approx(53 / 120)
    assert est.n_groups == 2 and est.n_rows == 4 and est.n_matched == 2
    assert est.ci_low <= est.estimate <= est.ci_high


@st.composite
def logged_data(draw):
    n, a = draw(st.integers(2, 30)), draw(st.integers(2, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    available = rng.random((n, a)) < 0.7
    available[:, 0] = True
    e = np.where(available, rng.random((n, a)) + 0.02, 0.0)
    e /= e.sum(axis=1, keepdims=True)
    observed = (e.cumsum(axis=1) > rng.random((n, 1)) * 0.999999).argmax(axis=1)
    reward = (rng.random(n) < 0.5).astype(float)
    mu = rng.random((n, a))
    codes = [f"i{j}" for j in range(a)]
    return codes, e, np.asarray(codes)[observed], reward, mu, rng


@PROPS
@given(logged_data())
def test_snips_and_ips_of_the_behaviour_policy_equal_the_observed_mean(case):
    codes, e, observed, reward, _, _ = case
    assert snips(e, observed, reward, e, interventions=codes) == pytest.approx(reward.mean())
    assert ips(e, observed, reward, e, interventions=codes) == pytest.approx(reward.mean())


@PROPS
@given(logged_data())
def test_dr_with_rewards_equal_to_the_outcome_model_is_the_direct_method(case):
    codes, e, observed, _, mu, rng = case
    rows = np.arange(len(e))
    target = np.asarray(codes)[np.where(e > 0, rng.random(e.shape), -1).argmax(axis=1)]
    reward = mu[rows, pd.Index(codes).get_indexer(observed)]
    direct = mu[rows, pd.Index(codes).get_indexer(target)].mean()
    assert doubly_robust(target, observed, reward, e, mu, interventions=codes) == pytest.approx(
        direct
    )


@PROPS
@given(logged_data())
def test_snips_lies_within_the_reward_range(case):
    codes, e, observed, reward, _, _ = case
    est = off_policy_value("snips", observed, observed, reward, e, interventions=codes)
    assert reward.min() - 1e-12 <= est.estimate <= reward.max() + 1e-12


# == bad input: one clear ValueError each =========================================================
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: ips(TARGET4[:3], OBS4, R4, E4, interventions=XY),
            "choices has 3 rows, expected 4",
        ),
        (lambda: ips(TARGET4, OBS4, R4[:2], E4, interventions=XY), "reward has 2 rows, expected 4"),
        (lambda: ips(TARGET4, OBS4, R4, E4[:3], interventions=XY), r"shape \(3, 2\), expected"),
        (
            lambda: ips(["x", "z", "x", "x"], OBS4, R4, E4, interventions=XY),
            "choices has unknown intervention codes 'z' on 1 row",
        ),
        (
            lambda: ips(TARGET4, ["x", "y", "q", "x"], R4, E4, interventions=XY),
            "observed has unknown intervention codes 'q'",
        ),
        (
            lambda: ips(TARGET4, OBS4, R4, np.where(E4 > 0.7, NAN, E4), interventions=XY),
            r"propensity has NaN .* on 2 rows \(1, 2\)",
        ),
        (
            lambda: ips(TARGET4, OBS4, R4, E4 * 1.1, interventions=XY),
            "propensity rows must sum to 1",
        ),
        (
            lambda: ips(TARGET4, OBS4, [1, 0, 2, 1], E4, interventions=XY),
            r"reward must be finite and in \[0, 1\]",
        ),
        (
            lambda: ips(TARGET4, OBS4, R4, pd.DataFrame(E4, columns=["x", "w"]), interventions=XY),
            r"unknown columns \['w'\], missing columns \['y'\]",
        ),
        (
            lambda: ips(TARGET4, OBS4, R4, E4, interventions=XY, clip=0.7),
            r"clip must be None or a number in \(0, 0.5\)",
        ),
        (
            lambda: ips(
                TARGET4, OBS4, R4, [[0, 1], [0.8, 0.2], [0.25, 0.75], [0.4, 0.6]], interventions=XY
            ),
            r"choices pick interventions with behaviour propensity 0 .* on 1 row \(0\)",
        ),
        (
            lambda: off_policy_value("dm", TARGET4, OBS4, R4, E4, interventions=XY),
            "method must be one of",
        ),
        (
            lambda: off_policy_value("dr", TARGET4, OBS4, R4, E4, interventions=XY),
            "method 'dr' needs outcome predictions",
        ),
        (
            lambda: doubly_robust(TARGET4, OBS4, R4, E4, np.full((4, 2), NAN), interventions=XY),
            "outcome predictions must be finite",
        ),
        (
            lambda: off_policy_value(
                "ips", TARGET4, OBS4, R4, E4, interventions=XY, groups=["a", "b"]
            ),
            "groups has 2 rows, expected 4",
        ),
        (lambda: policy_value(["a", "b", "a"], TINY), r"not available on 1 row \(1\) \(1: 'b'\)"),
        (lambda: policy_value(["a", "b"], TINY), "choices has 2 rows, expected 3"),
        (lambda: policy_value(["a", "zz", "a"], TINY), "unknown intervention codes 'zz'"),
        (
            lambda: compare_policies({"oracle": ["a", "a", "a"]}, TINY, ["a", "a", "a"]),
            "taken by the baselines",
        ),
        (lambda: baseline_choices(TINY, ["b", "b", "b"]), "observed chooses interventions that"),
        (lambda: qini_auuc(MU4, OBS4, R4, E4, XY, max_points=1), "max_points must be at least 2"),
    ],
)
def test_bad_input_raises_one_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# == uplift: Qini and AUUC ========================================================================
def test_qini_auuc_by_hand():
    e = np.full((4, 2), 0.5)
    observed = ["x", "y", "x", "y"]
    reward = [1, 0, 0, 1]
    uplift = np.array([[0.9, 0.0], [0.7, 0.0], [0.5, 0.0], [0.1, 0.0]])
    result = qini_auuc(uplift, observed, reward, e, XY)
    # arm x: weights 2 everywhere; gain after each row: +0.5, 0, 0, -0.5 -> 0.5, 0.5, 0.5, 0
    x = result.table.loc["x"]
    assert (x["n_available"], x["n_treated"], x["n_control"]) == (4, 2, 2)
    assert x["ate"] == pytest.approx(0.0)
    assert x["auuc"] == pytest.approx(0.375) and x["qini"] == pytest.approx(0.375)
    curve = result.curves[result.curves["arm"] == "x"]
    np.testing.assert_allclose(curve["fraction"], [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(curve["gain"], [0, 0.5, 0.5, 0.5, 0])
    # arm y: a constant score is one tie group -> the curve is the random line, Qini exactly 0
    y = result.table.loc["y"]
    assert y["qini"] == 0.0 and y["ate"] == pytest.approx(-x["ate"])
    assert y["auuc"] == pytest.approx(y["ate"] / 2)


def test_qini_arm_without_controls_is_nan():
    e = np.array([[1.0, 0.0], [0.5, 0.5]])
    result = qini_auuc(np.zeros((2, 2)), ["x", "y"], [1, 0], e, XY)
    assert result.table.loc["x", ["n_treated", "n_control"]].tolist() == [1, 1]
    assert result.table.loc["y", ["n_available", "n_treated", "n_control"]].tolist() == [1, 1, 0]
    assert np.isnan(result.table.loc["y", "qini"]) and not np.isnan(result.table.loc["x", "qini"])
    assert set(result.curves["arm"]) == {"x"}


@PROPS
@given(logged_data())
def test_qini_of_the_reversed_ranking_is_the_negative(case):
    codes, e, observed, reward, mu, _ = case
    forward = qini_auuc(mu, observed, reward, e, codes).table
    backward = qini_auuc(-mu, observed, reward, e, codes).table
    np.testing.assert_allclose(backward["qini"], -forward["qini"], atol=1e-12)
    np.testing.assert_allclose(backward["ate"], forward["ate"], atol=1e-12)


# == on simulated data: estimated nuisance models, truth known ====================================
def _features(d: dict) -> tuple[pd.DataFrame, np.ndarray]:
    """Decision points in order, and covariates a caseworker could see (with the history)."""
    ep = d["episodes"].sort_values(["person_id", "episode_no"], ignore_index=True)
    people = d["persons"].set_index("person_id").loc[ep["person_id"]].reset_index(drop=True)
    person = ep["person_id"].to_numpy()
    obs = pd.Index(CODES).get_indexer(ep["intervention"])
    onehot = np.eye(len(CODES))[obs]
    done = pd.DataFrame(onehot).groupby(person).cumsum().to_numpy() - onehot > 0
    prev = pd.Series(obs).groupby(person).shift().fillna(-1).astype(int).to_numpy()
    family = np.array([CAT.interventions[c].family for c in CODES])
    prepared = done[:, np.isin(family, ["readiness_course", "group_activity"])].any(axis=1)
    first = np.where(ep["episode_no"] == 1, "first", "later")

    def dummies(x):
        return pd.get_dummies(pd.Series(np.asarray(x).astype(str))).to_numpy(float)

    x = np.column_stack(
        [
            dummies(people["region"] + "_" + first),
            dummies(ep["step_before"]),
            dummies(people["swedish_level"]),
            dummies(people["education"]),
            dummies(people["income_source"]),
            dummies(people["referral_source"]),
            people["mental_ill_health"].to_numpy(float),
            (people["years_on_support"].to_numpy() - 7) / 3,
            np.maximum(people["age"].to_numpy() - 45, 0) / 10,
            dummies(prev),
            done,
            prepared,
            done[:, family == "work_training"].any(axis=1),
        ]
    )
    return ep, x


@pytest.fixture(scope="module")
def logged():
    """26k simulated persons (about 55k episodes) with propensity and outcome models fitted by
    logistic regression."""
    from sklearn.linear_model import LogisticRegression

    d = simulate(26_000, seed=11)
    ep, x = _features(d)
    obs = pd.Index(CODES).get_indexer(ep["intervention"])
    available = CAT.availability().loc[
        d["persons"].set_index("person_id").loc[ep["person_id"], "region"], CODES
    ]
    available = available.to_numpy()
    reward = (ep["step_after"] > ep["step_before"]).to_numpy(float)
    with threadpool_limits(1):
        model = LogisticRegression(C=10, max_iter=500).fit(x, obs)
        e = np.zeros(available.shape)
        e[:, model.classes_] = model.predict_proba(x)
        e = np.where(available, e, 0.0)
        e /= e.sum(axis=1, keepdims=True)
        treat = np.eye(len(CODES))
        outcome = LogisticRegression(C=10, max_iter=500).fit(np.hstack([x, treat[obs]]), reward)
        mu = np.column_stack(
            [
                outcome.predict_proba(np.hstack([x, np.tile(treat[j], (len(x), 1))]))[:, 1]
                for j in range(len(CODES))
            ]
        )
    tm = truth_matrix(d["truth"], ep, CODES)
    return {"ep": ep, "e": e, "mu": mu, "reward": reward, "tm": tm}


def test_dr_and_ips_intervals_cover_the_true_value(logged):
    ep, tm = logged["ep"], logged["tm"]
    target = baseline_choices(tm, ep["intervention"])["best_single"]
    true = policy_value(target, tm)
    args = (target, ep["intervention"], logged["reward"], logged["e"], logged["mu"])
    for method in ("dr", "ips"):
        est = off_policy_value(
            method, *args, interventions=CODES, groups=ep["person_id"], n_bootstrap=200, seed=3
        )
        assert est.ci_low <= true <= est.ci_high, (method, true, est)
        assert est.ci_high - est.ci_low < 0.06
    behaviour = policy_value(ep["intervention"], tm)
    assert abs(behaviour - logged["reward"].mean()) < 0.01  # rewards follow the truth


def test_qini_ranks_by_true_uplift_above_random(logged, tmp_path):
    ep, tm, e = logged["ep"], logged["tm"], logged["e"]
    p = np.nan_to_num(tm.to_numpy())
    true_uplift = p - (e * p).sum(axis=1, keepdims=True)  # against the usual path
    noise = np.random.default_rng(0).random(p.shape)
    args = (ep["intervention"], logged["reward"], e, CODES)
    truth_ranked = qini_auuc(true_uplift, *args)
    random_ranked = qini_auuc(noise, *args).table["qini"]
    qini = truth_ranked.table["qini"]
    assert qini.mean() > 0.005
    assert (qini > random_ranked).mean() >= 0.8
    assert abs(random_ranked.mean()) < 0.25 * qini.mean()
    path = plot_qini_curves(truth_ranked, tmp_path / "qini" / "curves.png")
    assert path.exists() and path.stat().st_size > 10_000


# == plots ========================================================================================
def test_plots_write_png_files(tmp_path):
    table = compare_policies({"mine": ["b", "c", "a"]}, TINY, ["a", "a", "b"], n_bootstrap=30)
    path = plot_policy_values(table, tmp_path / "values.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000
    curves = qini_auuc(MU4, OBS4, R4, E4, XY).curves
    path = plot_qini_curves(curves, tmp_path / "qini.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000
    with pytest.raises(ValueError, match="curves must be a DataFrame with columns"):
        plot_qini_curves(table, tmp_path / "bad.png")
    assert set(BASELINES) <= set(table.index)


def test_plan_gain_closure_is_the_share_of_the_gap_closed():
    from adapt.evaluation import plan_gain_closure

    assert plan_gain_closure(1.5, 1.0, 2.0) == pytest.approx(0.5)
    assert plan_gain_closure(1.0, 1.0, 2.0) == 0.0
    assert plan_gain_closure(0.5, 1.0, 2.0) == pytest.approx(-0.5)
    assert np.isnan(plan_gain_closure(1.0, 1.0, 1.0))


def test_the_planning_report_puts_plans_between_the_caseworkers_and_the_best_plan():
    from adapt.evaluation import planning_report
    from adapt.features import decision_points
    from adapt.models import SLearner
    from adapt.planning import Planner, StepTransitions
    from adapt.simulation import Oracle

    data = simulate(1500, seed=21)
    train = data["persons"]["person_id"].iloc[:1100]
    is_train = data["episodes"]["person_id"].isin(train)
    episodes = data["episodes"][is_train]
    persons = data["persons"][data["persons"]["person_id"].isin(train)]
    points = decision_points(persons, episodes)
    model = SLearner(n_estimators=60, n_bags=2).fit(
        points.features, points.treatment, points.outcome, points.keys["person_id"]
    )
    oracle = Oracle(seed=21)
    test_persons = data["persons"][~data["persons"]["person_id"].isin(train)]
    start = oracle.start_states(test_persons, data["episodes"][~is_train], seed=0)
    planner = Planner(model, StepTransitions.fit(episodes), beam_width=2)
    report = planning_report(oracle, start, planner, horizons=(1, 2), seed=0)
    assert list(report["k"]) == [1, 2]
    assert (report["v_best_plan"] >= report["v_plans"] - 1e-9).all()
    assert (report["v_best_plan"] > report["v_behaviour"]).all()
    assert (report["plan_gain_closure"] > 0).all() and (report["plan_gain_closure"] <= 1).all()
    assert (report["v_plans"].diff().dropna() > 0).all()  # a longer plan gains more steps

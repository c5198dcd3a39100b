"""The policy tree: its exhaustive search, its rules, and the learner around it."""

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from adapt.features import decision_points
from adapt.models import PolicyTreeLearner, make_learner
from adapt.models._policy_tree import MIN_LEAF_SHARE, _bins, grow_tree
from adapt.simulation import simulate


def _value(X, scores, available, root, left, right):
    """The objective of one tree, computed row by row (the brute force's reference)."""
    row_mean = np.nanmean(np.where(available, scores, np.nan), axis=1, keepdims=True)
    filled = np.where(available, scores, row_mean)
    go_right = ~(X[root[0]].to_numpy() <= root[1])
    total, leaves = 0.0, []
    for side, child in ((False, left), (True, right)):
        rows = go_right == side
        if child is None:
            leaves.append(rows)
        else:
            below = X[child[0]].to_numpy() <= child[1]
            leaves += [rows & below, rows & ~below]
    for rows in leaves:
        if rows.sum() < np.ceil(MIN_LEAF_SHARE * len(X)):
            return -np.inf
        total += filled[rows].sum(axis=0).max()
    return total


def test_grow_tree_finds_the_best_tree_a_brute_force_finds():
    rng = np.random.default_rng(0)
    n = 300
    X = pd.DataFrame({"a": rng.integers(0, 6, n), "b": rng.normal(size=n), "c": rng.random(n)})
    scores = rng.normal(size=(n, 3)) + np.column_stack(
        [X["a"] > 2, (X["b"] > 0) & (X["a"] <= 2), np.zeros(n)]
    )
    available = rng.random((n, 3)) > 0.1
    _, thresholds = _bins(X)
    splits = [(c, float(v)) for c, cuts in zip(X.columns, thresholds, strict=True) for v in cuts]
    best = max(
        _value(X, scores, available, root, left, right)
        for root in splits
        for left, right in itertools.product([None, *splits], repeat=2)
    )
    tree = grow_tree(X, scores, available)
    children = [None if s is None else (s.feature, s.threshold) for s in tree.children]
    found = _value(X, scores, available, (tree.root.feature, tree.root.threshold), *children)
    assert found == pytest.approx(best)


def test_grow_tree_recovers_a_planted_rule_and_ranks_its_leaves():
    rng = np.random.default_rng(1)
    n = 2000
    X = pd.DataFrame({"noise": rng.random(n), "age": rng.integers(18, 65, n).astype(float)})
    young = X["age"].to_numpy() <= 30
    scores = rng.normal(0, 0.5, (n, 2)) + np.column_stack([young, ~young]).astype(float)
    tree = grow_tree(X, scores, np.ones((n, 2), bool))
    # depth two may split on noise first, then on age in both children: the rule is found
    splits = [s for s in (tree.root, *tree.children) if s is not None and s.feature == "age"]
    assert splits and all(28 <= s.threshold <= 32 for s in splits)
    leaf = tree.leaves(lambda name: X["age"].to_numpy() if name is None else X[name].to_numpy())
    best_arm = np.nanargmax(tree.leaf_scores[leaf], axis=1)
    assert (best_arm == np.where(young, 0, 1)).mean() > 0.95


def test_grow_tree_keeps_every_leaf_above_the_minimum_share():
    rng = np.random.default_rng(2)
    n = 400
    X = pd.DataFrame({"x": rng.random(n)})
    # the best arm flips for the top 2 % only: too few rows for a leaf of their own
    scores = np.column_stack([np.ones(n), np.where(X["x"] > 0.98, 5.0, 0.0)])
    tree = grow_tree(X, scores, np.ones((n, 2), bool))
    leaf = tree.leaves(lambda name: X["x"].to_numpy())
    counts = np.bincount(leaf, minlength=4)
    assert counts[counts > 0].min() >= np.ceil(MIN_LEAF_SHARE * n)


def test_policy_tree_learner_recommends_by_rules_and_names_them():
    data = simulate(800, seed=5)
    points = decision_points(data["persons"], data["episodes"])
    X = points.features
    model = make_learner("policy_tree", n_bags=2, point_estimate="full", random_state=0)
    assert isinstance(model, PolicyTreeLearner)
    model.fit(X, points.treatment, points.outcome, points.keys["person_id"])
    p = model.predict(X)
    offered = model.availability_[pd.Index(model.regions_).get_indexer(X["region"].astype(str))]
    assert p.notna().to_numpy().tolist() == offered.tolist()
    # a tree of depth two: at most four distinct rankings of the interventions
    rankings = np.nan_to_num(p.to_numpy(float), nan=-1).round(12)
    assert len(np.unique(rankings, axis=0)) <= 4 * len(model.regions_)
    rules = model.rules()
    assert 1 <= len(rules) <= 4
    assert all(r.startswith("if ") and ": " in r for r in rules)
    low, high = model.predict_interval(X.head(20))
    assert (low.fillna(0) <= high.fillna(0)).all().all()
    assert clone(model).get_params() == model.get_params()

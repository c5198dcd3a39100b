"""Policy tree: a depth-2 tree of readable rules, one intervention per leaf, on doubly robust
scores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapt.models._base import MultiTreatmentLearner
from adapt.models._dr_learner import stacked_pseudo_outcomes
from adapt.models._encoded import Encoded

# Candidate thresholds per feature (its quantiles): the exhaustive depth-2 search costs
# features^2 x thresholds^2 x interventions, and a rule reads as well on a quantile as between.
N_THRESHOLDS = 16
# A leaf holds at least this share of the rows, so that no rule is about a handful of persons.
MIN_LEAF_SHARE = 0.05
# Behaviour probabilities are floored here for the scores: a rare intervention's few rows
# weighted by 1/e would otherwise decide a leaf by their noise.
SCORE_MIN_PROPENSITY = 0.05


@dataclass(frozen=True)
class Split:
    """``feature <= threshold`` goes left."""

    feature: str
    threshold: float


@dataclass
class PolicyTree:
    """A fitted depth-2 tree: the root split, each child's split (or None: a leaf), and per
    leaf (left-left, left-right, right-left, right-right; an unsplit child's leaf repeated) the
    mean doubly robust score of every intervention."""

    root: Split | None
    children: tuple[Split | None, Split | None]
    leaf_scores: np.ndarray  # (4, arms), NaN where no row of the leaf was offered the arm

    def leaves(self, column) -> np.ndarray:
        """The leaf (0..3) of each row; `column(name)` gives a feature's values."""
        if self.root is None:
            return np.zeros(len(column(None)), dtype=np.int64)
        right = ~(column(self.root.feature) <= self.root.threshold)
        leaf = 2 * right.astype(np.int64)
        for side, split in enumerate(self.children):
            if split is not None:
                rows = right == bool(side)
                leaf[rows] += ~(column(split.feature)[rows] <= split.threshold)
        return leaf


class PolicyTreeLearner(MultiTreatmentLearner):
    """Readable rules: a tree of depth 2 on the numeric features whose four leaves each rank the
    interventions by their mean doubly robust score.

    The scores are the DR-learner's pseudo-outcomes ``mu_a + 1[A=a] (Y - mu_a) / e_a`` from
    cross-fitted outcome and behaviour models. The splits are the exhaustive best over
    `N_THRESHOLDS` quantiles of every numeric feature at both levels: the sum over leaves of
    the largest per-intervention score sum (an intervention a row's region does not offer
    counts as that row's mean score), every leaf holding `MIN_LEAF_SHARE` of the rows. A row's
    estimate for an intervention is its leaf's mean score over the rows offered it (the
    half-samples' mean where the leaf has none), so the estimate is coarse but the rule is
    short enough to read (`rules`).
    """

    nuisance_models = ("outcome", "propensity")

    def _fit_one(self, X, t, y, available, groups, seed):
        outcome, propensity = self._fit_nuisances(X, t, y, available, groups, seed)
        e = np.maximum(propensity.out_of_fold_, SCORE_MIN_PROPENSITY)
        rows, arms, pseudo = stacked_pseudo_outcomes(outcome.out_of_fold_, e, t, y, available)
        scores = np.full(available.shape, np.nan)
        scores[rows, arms] = pseudo
        numeric = [c for c in X.columns if c not in self.categories_]
        tree = grow_tree(X[numeric], scores, available)
        with np.errstate(invalid="ignore"):
            return tree, np.nanmean(scores, axis=0), outcome

    def _predict_one(self, fitted, X, rows, arms):
        tree, arm_means, _ = fitted
        leaf = tree.leaves(_columns(X, rows))
        estimate = tree.leaf_scores[leaf, arms]
        return np.where(np.isnan(estimate), arm_means[arms], estimate)

    def _explained_parts(self, fitted, X, rows, arms):
        # As the DR-learner's: the cross-fitted outcome model behind the scores names the
        # features that drive progression; the tree's own reason is its rule (`rules`).
        return fitted[2].explained_parts(X, rows, arms)

    def rules(self, precision: int = 3) -> list[str]:
        """The full-data (or first half-sample's) tree as one line per leaf:
        ``if <conditions>: <interventions, best first>``."""
        tree = self.estimators_[0][0]
        if tree.root is None:
            conditions = [["always"]] * 4
        else:
            conditions = []
            for side, child in enumerate(tree.children):
                first = _condition(tree.root, side, precision)
                for sub in (0, 1):
                    rest = [] if child is None else [_condition(child, sub, precision)]
                    conditions.append([first, *rest])
        lines, seen = [], set()
        for leaf, condition in enumerate(conditions):
            text = " and ".join(condition)
            if text in seen:
                continue
            seen.add(text)
            order = np.argsort(-np.nan_to_num(tree.leaf_scores[leaf], nan=-np.inf))
            ranked = [self.interventions_[a] for a in order[:3]]
            lines.append(f"if {text}: {', '.join(ranked)}")
        return lines


def _condition(split: Split, right: int, precision: int) -> str:
    sign = ">" if right else "<="
    return f"{split.feature} {sign} {split.threshold:.{precision}g}"


def _columns(X, rows):
    """A function from a feature name to its values at `rows` (None: any column, for the
    count)."""

    def column(name):
        if isinstance(X, Encoded):
            return X.values[rows, 0] if name is None else X.column(name)[rows]
        return X.iloc[rows, 0] if name is None else X[name].to_numpy(float)[rows]

    return column


def grow_tree(X: pd.DataFrame, scores: np.ndarray, available: np.ndarray) -> PolicyTree:
    """The exhaustive best depth-2 tree on `X`'s numeric columns (see `PolicyTreeLearner`)."""
    n, n_arms = scores.shape
    row_mean = np.nanmean(np.where(available, scores, np.nan), axis=1, keepdims=True)
    filled = np.where(available, scores, row_mean)
    min_leaf = max(1, int(np.ceil(MIN_LEAF_SHARE * n)))
    bins, thresholds = _bins(X)
    best_value, best = filled.sum(axis=0).max(), None
    for j1, cuts in enumerate(thresholds):
        if len(cuts) == 0:
            continue
        # Each child's best: unsplit, or split on any feature (j2) at any of its thresholds.
        child_value = np.full((2, len(cuts)), -np.inf)
        child_split = np.full((2, len(cuts), 2), -1)
        for j2, cuts2 in enumerate(thresholds):
            if len(cuts2) == 0:
                continue
            shape = (len(cuts) + 1, len(cuts2) + 1)
            sums, counts = _joint_sums(bins[:, j1], bins[:, j2], filled, *shape)
            values, chosen = _child_values(sums, counts, min_leaf)
            for side in (0, 1):
                better = values[side] > child_value[side]
                child_value[side][better] = values[side][better]
                child_split[side][better] = np.column_stack(
                    [np.where(chosen[side] < 0, -1, j2), chosen[side]]
                )[better]
        total = child_value.sum(axis=0)
        k1 = int(np.argmax(total))
        if total[k1] > best_value + 1e-12:
            best_value, best = total[k1], (j1, k1, child_split[:, k1])
    columns = list(X.columns)
    if best is None:
        root, children = None, (None, None)
    else:
        j1, k1, split = best
        root = Split(columns[j1], float(thresholds[j1][k1]))
        children = tuple(
            None if k2 < 0 else Split(columns[j2], float(thresholds[j2][k2])) for j2, k2 in split
        )
    tree = PolicyTree(root, children, np.full((4, n_arms), np.nan))
    leaf = tree.leaves(lambda name: X.iloc[:, 0] if name is None else X[name].to_numpy(float))
    offered_scores = np.where(available, scores, 0.0)
    for k in range(4):
        in_leaf = leaf == k
        offered = available[in_leaf].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            tree.leaf_scores[k] = np.where(
                offered > 0, offered_scores[in_leaf].sum(axis=0) / offered, np.nan
            )
    return tree


def _bins(X: pd.DataFrame):
    """Each row's bin per feature (bin k: above threshold k-1, at most threshold k) and the
    thresholds (unique quantiles; the last bin is everything above the last threshold)."""
    values = X.to_numpy(float)
    bins = np.zeros(values.shape, dtype=np.int64)
    thresholds = []
    quantiles = np.linspace(0, 1, N_THRESHOLDS + 2)[1:-1]
    for j in range(values.shape[1]):
        column = values[:, j]
        known = column[~np.isnan(column)]
        cuts = np.unique(np.quantile(known, quantiles)) if len(known) else np.array([])
        cuts = cuts[cuts < known.max()] if len(known) else cuts
        thresholds.append(cuts)
        # NaN compares as not <= any threshold: it goes right, as in `PolicyTree.leaves`
        bins[:, j] = np.searchsorted(cuts, np.where(np.isnan(column), np.inf, column))
    return bins, thresholds


def _joint_sums(b1, b2, filled, n1, n2):
    """Cumulative score sums and row counts over the bins of two features (`n1`, `n2` bins):
    ``sums[k1, k2, a]`` over rows with bin1 <= k1 and bin2 <= k2."""
    index = b1 * n2 + b2
    sums = np.stack(
        [np.bincount(index, weights=f, minlength=n1 * n2) for f in filled.T], axis=-1
    ).reshape(n1, n2, filled.shape[1])
    counts = np.bincount(index, minlength=n1 * n2).reshape(n1, n2).astype(float)
    return sums.cumsum(0).cumsum(1), counts.cumsum(0).cumsum(1)


def _child_values(sums, counts, min_leaf):
    """For every root threshold k1 (root on feature 1), the best value of each child (left:
    bin1 <= k1, right: the rest) split on feature 2, or unsplit; and the chosen threshold k2
    (-1: unsplit). Splits leaving a leaf below `min_leaf` rows are not allowed."""
    last, last2 = sums.shape[0] - 1, sums.shape[1] - 1
    k1 = np.arange(last)
    left_all, left_n = sums[k1, -1], counts[k1, -1]
    right_all, right_n = sums[-1, -1] - left_all, counts[-1, -1] - left_n
    # second split at k2 (< last) inside each child
    ll, ll_n = sums[k1, :last2], counts[k1, :last2]
    lr, lr_n = left_all[:, None] - ll, left_n[:, None] - ll_n
    rl = sums[-1, :last2][None] - ll
    rl_n = counts[-1, :last2][None] - ll_n
    rr, rr_n = right_all[:, None] - rl, right_n[:, None] - rl_n
    values, chosen = [], []
    for whole, whole_n, a, a_n, b, b_n in (
        (left_all, left_n, ll, ll_n, lr, lr_n),
        (right_all, right_n, rl, rl_n, rr, rr_n),
    ):
        unsplit = np.where(whole_n >= min_leaf, whole.max(axis=-1), -np.inf)
        split = np.where(
            (a_n >= min_leaf) & (b_n >= min_leaf), a.max(axis=-1) + b.max(axis=-1), -np.inf
        )
        k2 = split.argmax(axis=1)
        best_split = split[np.arange(last), k2]
        use_split = best_split > unsplit + 1e-12
        values.append(np.where(use_split, best_split, unsplit))
        chosen.append(np.where(use_split, k2, -1))
    return values, chosen

"""What every multi-treatment learner shares: validation, bagging, intervals, current practice."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from adapt._bootstrap import t_quantile
from adapt.catalogue import Catalogue, load_catalogue
from adapt.engines import LocalEngine
from adapt.models._arms import CrossFittedOutcome, pair_columns
from adapt.models._calibration import bias_sd
from adapt.models._cross_fit import groups_of, half_samples
from adapt.models._encoded import Encoded, encode
from adapt.models._propensity import CrossFittedPropensity

MIN_PERSONS = 20
POINT_ESTIMATES = ("auto", "bags", "full")
# `auto` takes the full-data model from this many training rows (decision points; about 20,000
# persons) and the half-samples' mean below. The mean helps a small sample's fit (2,234 persons:
# regret closure 0.747 against 0.703 full, 5,000: 0.800 against 0.781); from about 30,000
# persons the full-data model does as well or better (0.843 / 0.842 at 30,000, 0.898 / 0.906
# at 100,000; benchmarks/results/full_data_estimate.md), and one model is five times cheaper
# to plan, explain and serve with.
FULL_ESTIMATE_MIN_ROWS = 40_000
# `_fit_one`'s seed for the model fitted on all rows; the half-samples count up from 0.
FULL_DATA_SEED = -1
_HERE = Path(__file__).resolve().parent  # adapt/models: warnings name the caller outside it


class MultiTreatmentLearner(BaseEstimator):
    """Base of the meta-learners: estimates P(progress | x, intervention) for every intervention.

    Subclasses declare the nuisance models they need in `nuisance_models` and implement
    `_fit_one` (fit everything, nuisances included, on a half-sample of persons) and
    `_predict_one` (probabilities for (row, arm) pairs). The estimate is the mean over `n_bags`
    half-samples of persons.

    Intervals are ``mean +- t * sqrt(sd_bags**2 + bias_sd_**2)``. The spread over half-samples
    estimates the spread of one full-sample fit (it needs no sqrt(2): a LightGBM fit on half the
    persons varies about as much as one on all of them) and, since each half-sample refits its
    own nuisance models, includes theirs. ``bias_sd_`` is the spread of the estimates' bias, which
    no spread over refits can see. It is measured on out-of-bag persons: within groups of similar
    cells (arm, step, estimate), the mean of ``y - estimate`` less its sampling noise.

    The behaviour (propensity) model, fitted on all rows, describes current practice: uplift is
    measured against its expected value ``sum_a e_a p_a``, and its most likely arm is reported as
    the usual path.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples : LightGBM settings of every
        base model.
    n_bags : int
        Half-samples of persons; their spread gives intervals. With 1 the one model is fitted
        on all rows and gives no intervals (for quick fits, such as the folds of
        `adapt.selection`).
    point_estimate : {"auto", "bags", "full"}
        The estimate: the mean of the half-samples (averaging cuts the variance of a small
        sample's fit), or one model fitted on all rows, the half-samples then only giving the
        spread around it (for learners whose regularisation needs every row: the sequence
        learner's categorical splits ask for 200 rows per category, which half a small
        register does not have), or ``auto``: full from `FULL_ESTIMATE_MIN_ROWS` training rows,
        bags below. The one used is `point_estimate_`.
    n_folds : int
        Folds for cross-fitting nuisance models (by person).
    interval_level : float
        Coverage of `predict_interval`.
    min_propensity : float
        Lower bound on behaviour probabilities of offered interventions.
    propensity_n_estimators, propensity_max_rows : int
        Size of the behaviour model (boosting rounds, rows it is fitted on at most).
    random_state : int
        Seed of every random choice the learner makes.
    n_jobs : int
        LightGBM threads.
    catalogue : Catalogue, optional
        Interventions and availability; the built-in catalogue when None.

    Attributes
    ----------
    catalogue_ : Catalogue
        The catalogue the learner was fitted for (the built-in one when `catalogue` is None).
    interventions_, regions_ : list of str
        Its intervention and region codes, in its order (the columns of every estimate).
    seen_regions_ : list of str
        The regions the training rows came from: the only ones it estimates for.
    feature_names_in_ : ndarray of str
        The feature columns, in the order the models read them.
    """

    nuisance_models: ClassVar[tuple[str, ...]] = ()
    # Set True (on the fitted learner) by `adapt.selection` when its recommendations did not
    # surely beat the caseworkers': callers then keep the usual path (adapt.policies, the
    # recommender).
    recommends_usual_path_: bool = False
    # The history its features summarise: "summary" or "ordered" (see `decision_points`).
    history: ClassVar[str] = "summary"

    def __init__(
        self,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 40,
        n_bags: int = 5,
        point_estimate: str = "auto",
        n_folds: int = 2,
        interval_level: float = 0.9,
        min_propensity: float = 0.01,
        propensity_n_estimators: int = 30,
        propensity_max_rows: int | None = 30_000,
        random_state: int = 0,
        n_jobs: int = 1,
        catalogue: Catalogue | None = None,
    ):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.n_bags = n_bags
        self.point_estimate = point_estimate
        self.n_folds = n_folds
        self.interval_level = interval_level
        self.min_propensity = min_propensity
        self.propensity_n_estimators = propensity_n_estimators
        self.propensity_max_rows = propensity_max_rows
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.catalogue = catalogue

    # -- public API -------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, treatment, y, groups=None, engine=None):
        """Fit on decision points: features `X`, chosen `treatment` codes, outcome `y` (0/1).

        `groups` (person ids) keeps a person's rows together in folds and half-samples. With
        `engine` (`adapt.engines`) the half-sample models (and the full-data one) are fitted as
        tasks on its workers, one model per task: the same models as here. The propensity
        model and the bias check stay here (one model each, small).
        """
        X, t, y = self._check_fit_input(X, treatment, y, groups)
        available = self._available(X)
        self.propensity_ = self._propensity(n_folds=1).fit(X, t, available, groups)
        if self.point_estimate not in POINT_ESTIMATES:
            raise ValueError(
                f"point_estimate must be one of {POINT_ESTIMATES}, got {self.point_estimate!r}"
            )
        # One bag has no spread to give intervals: it is fitted on all rows, not on a half.
        halves = (
            [] if self.n_bags == 1 else half_samples(len(X), groups, self.n_bags, self.random_state)
        )
        self.point_estimate_ = self.point_estimate
        if self.point_estimate == "auto":
            self.point_estimate_ = "full" if len(X) >= FULL_ESTIMATE_MIN_ROWS else "bags"
        jobs = [
            (X.iloc[rows], t[rows], y[rows], available[rows], groups_of(groups, rows), b)
            for b, rows in enumerate(halves)
        ]
        full = self.point_estimate_ == "full" or not halves
        if full:
            jobs.append((X, t, y, available, groups, FULL_DATA_SEED))
        fitted = (engine or LocalEngine()).map(self._fit_one, jobs)
        self.bag_estimators_ = fitted[: len(halves)]
        self.estimators_ = fitted[len(halves) :] if full else self.bag_estimators_
        self.bias_sd_ = self._out_of_bag_bias_sd(X, t, y, groups, halves)
        return self

    def __setstate__(self, state):
        # Saved before `bag_estimators_`: its `estimators_` were its half-samples, which then
        # give both its estimate (their mean, as before) and its intervals.
        if "estimators_" in state and "bag_estimators_" not in state:
            state = {**state, "bag_estimators_": state["estimators_"]}
        # Saved before `catalogue_` and `seen_regions_` were fitted attributes: the catalogue it
        # was given (the built-in one when none), and every region of it.
        if "interventions_" in state and "catalogue_" not in state:
            state = {**state, "catalogue_": state.get("catalogue") or load_catalogue()}
        if "regions_" in state and "seen_regions_" not in state:
            state = {**state, "seen_regions_": list(state["regions_"])}
        if "estimators_" in state and "n_fit_rows_" not in state:
            state = {**state, "n_fit_rows_": 0}  # saved before it was recorded: unknown
        if "estimators_" in state and "point_estimate_" not in state:
            state = {**state, "point_estimate_": state.get("point_estimate", "bags")}
        super().__setstate__(state)

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """Estimated progression probability under each intervention (NaN where not offered)."""
        # Unoffered cells are NaN in every model, so a plain mean keeps them NaN.
        return self._frame(self.estimate(self.encode(X)), X, "p_")

    def predict_interval(
        self, X: pd.DataFrame, level: float | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Lower and upper bounds of each probability at `level` (default `interval_level`)."""
        lower, upper = self._probability_interval(self._predict_bags(X), level)
        return self._frame(lower, X, "p_"), self._frame(upper, X, "p_")

    def usual_path(self, X: pd.DataFrame) -> pd.Series:
        """The intervention the behaviour model finds most likely for each row."""
        probs = self.behaviour_probabilities(X).to_numpy()
        return pd.Series(
            np.asarray(self.interventions_)[probs.argmax(axis=1)], index=X.index, name="usual_path"
        )

    def behaviour_probabilities(self, X: pd.DataFrame) -> pd.DataFrame:
        """``e_<intervention>``: how likely caseworkers are to choose each offered intervention."""
        X = self._check_predict_input(X)
        return self._frame(self._behaviour(self._encode(X)), X, "e_")

    def predict_uplift(self, X: pd.DataFrame) -> pd.DataFrame:
        """Gain in progression probability of each intervention over current practice.

        Current practice is what caseworkers would do: ``sum_a e_a p_a`` with the behaviour
        model's probabilities `e`.
        """
        X = self._check_predict_input(X)  # once: an ignored column is reported once
        return self._frame(self._uplift(self.predict(X).to_numpy(), self._e(X)), X, "uplift_")

    def predict_uplift_interval(
        self, X: pd.DataFrame, level: float | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Bounds of each uplift over current practice, from the spread of the differences."""
        X = self._check_predict_input(X)  # once: an ignored column is reported once
        lower, upper = self._uplift_interval(self._predict_bags(X), self._e(X), level)
        return self._frame(lower, X, "uplift_"), self._frame(upper, X, "uplift_")

    # -- the public face on encoded rows: encode once, then ask (recommender, planner, explain) --
    def checked_features(self, X: pd.DataFrame) -> pd.DataFrame:
        """Decision-point features `X` checked (columns, categories, regions) and in the
        model's column order; one clear error otherwise."""
        return self._check_predict_input(X)

    def encode(self, X: pd.DataFrame) -> Encoded:
        """Decision-point features `X`, checked (see `checked_features`) and encoded as the
        models read them."""
        return self._encode(self._check_predict_input(X))

    def encode_values(self, rows: list[dict]) -> Encoded:
        """Feature rows given as ``{column: value}`` (categories by label, as
        `next_decision_values` gives them), encoded as `encode` does a DataFrame. A label the
        model never saw is missing (NaN), as in LightGBM's reading of a DataFrame."""
        return self._encode_values(rows)

    def offered(self, E: Encoded) -> np.ndarray:
        """Which interventions each encoded row's region offers: (rows, arms) booleans."""
        return self._available(E)

    def estimate(self, E: Encoded, where: np.ndarray | None = None) -> np.ndarray:
        """The estimate for every encoded row and offered intervention: (rows, arms), NaN
        where not offered (what `predict` gives, without the half-samples' draws). With
        `where` (a boolean (rows, arms) mask) only those pairs are estimated, NaN elsewhere."""
        return self._estimates(E, self.estimators_, where).mean(axis=0)

    def screening_estimate(self, E: Encoded, where: np.ndarray | None = None) -> np.ndarray:
        """`estimate` from one model alone (the first of the estimate's): as many trees as one
        model has, for screening many candidates whose finalists `estimate` then decides."""
        return self._estimates(E, [self._screening_model()], where)[0]

    def draws(self, E: Encoded) -> np.ndarray:
        """The half-samples' draws of the estimate: (draws, rows, arms); their mean is the
        estimate, their spread gives the intervals."""
        return self._bags(E)

    def behaviour(self, E: Encoded) -> np.ndarray:
        """Current practice: how likely caseworkers are to choose each offered intervention."""
        return self._behaviour(E)

    def probability_interval(self, draws: np.ndarray, level: float | None = None):
        """Bounds of each probability from `draws` (as `predict_interval`)."""
        return self._probability_interval(draws, level)

    def uplift_interval(self, draws: np.ndarray, e: np.ndarray, level: float | None = None):
        """Bounds of each uplift over current practice `e` (as `predict_uplift_interval`)."""
        return self._uplift_interval(draws, e, level)

    def uplift(self, p: np.ndarray, e: np.ndarray) -> np.ndarray:
        """Gain of each probability in `p` over current practice ``sum_a e_a p_a``."""
        return self._uplift(p, e)

    def explained_parts(self, X, rows, arms) -> list[tuple]:
        """The LightGBM models behind the estimates of (row, arm) pairs of `X` (a DataFrame or
        `Encoded` rows), for SHAP: ``(model, input, pair positions, weight, column names)``
        over every model of the estimate, weights summing to one per pair (to none where the
        estimate is a plain rate with nothing to credit: the T-learner's small arms). The
        weighted sum of their log-odds contributions explains the estimate: exactly where it is
        one classifier per pair (S, sequence, T), approximately elsewhere (see the learners)."""
        check_is_fitted(self, "estimators_")
        default = self._explained_columns(list(X.columns))
        n = len(self.estimators_)
        parts = []
        for fitted in self.estimators_:
            for model, frame, positions, weight, *named in self._explained_parts(
                fitted, X, rows, arms
            ):
                columns = (
                    named[0]
                    if named
                    else (list(frame.columns) if isinstance(frame, pd.DataFrame) else default)
                )
                parts.append((model, frame, positions, weight / n, columns))
        return parts

    # -- the same on encoded rows (see `_encode`, `_encode_values`) -------------------------------
    def _probability_interval(self, bags: np.ndarray, level: float | None = None):
        lower, upper = self._interval(bags, self.bias_sd_**2, level)  # bias_sd_ is per arm
        return np.clip(lower, 0, 1), np.clip(upper, 0, 1)

    def _uplift_interval(self, bags: np.ndarray, e: np.ndarray, level: float | None = None):
        uplift_bags = np.stack([self._uplift(bag, e) for bag in bags])
        # Bias of p_a - sum_j e_j p_j when cell biases are independent with sd `bias_sd_`.
        var = self.bias_sd_**2
        bias_var = var * (1 - 2 * e) + (e**2 * var).sum(axis=1, keepdims=True)
        return self._interval(uplift_bags, np.maximum(bias_var, 0.0), level)

    def _encode_values(self, rows: list[dict]) -> Encoded:
        """Feature rows given as ``{column: value}`` (categories by label, as
        `next_decision_values` gives them) encoded like `_encode` does a DataFrame. A label the
        model never saw is missing (NaN), as in LightGBM's reading of a DataFrame."""
        check_is_fitted(self, "estimators_")
        codes = getattr(self, "_label_codes", None)
        if codes is None:
            codes = self._label_codes = {
                c: {label: float(i) for i, label in enumerate(labels)}
                for c, labels in self.categories_.items()
            }
        columns = tuple(self.feature_names_in_)
        values = np.array(
            [
                [codes[c].get(row[c], np.nan) if c in codes else float(row[c]) for c in columns]
                for row in rows
            ],
            dtype=float,
        ).reshape(len(rows), len(columns))
        return Encoded(values, columns)

    # -- for subclasses ---------------------------------------------------------------------------
    def _fit_one(self, X, t, y, available, groups, seed):
        """Fit on one half-sample of persons (its nuisance models too); return what
        `_predict_one` needs."""
        raise NotImplementedError

    def _predict_one(self, model, X, rows, arms) -> np.ndarray:
        raise NotImplementedError

    def _explained_parts(self, fitted, X, rows, arms) -> list[tuple]:
        """The LightGBM models behind one bag's estimates for (row, arm) pairs, for SHAP:
        ``(model, input frame, pair positions, weight)``, and the input's column names fifth
        where they are not `_explained_columns`'s. The weighted sum of their log-odds
        contributions explains the pairs' estimates exactly where the learner predicts through
        one classifier per pair (S, sequence, T); see the subclasses."""
        raise NotImplementedError(f"{type(self).__name__} cannot be explained per person")

    def _explained_columns(self, columns) -> list[str]:
        """Names of the columns of the inputs `_explained_parts` gives for an `Encoded` X (a
        float matrix has none): the features, then the candidate's own columns."""
        return pair_columns(columns)

    def _lightgbm(self, **override) -> dict:
        settings = {
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
        }
        return {**settings, **override}

    # -- helpers ----------------------------------------------------------------------------------
    def _propensity(self, n_folds: int) -> CrossFittedPropensity:
        return CrossFittedPropensity(
            len(self.interventions_),
            n_folds,
            self.min_propensity,
            self.propensity_max_rows,
            self.random_state,
            self.n_jobs,
            **self._lightgbm(
                n_estimators=self.propensity_n_estimators,
                learning_rate=0.1,
                num_leaves=min(self.num_leaves, 15),
            ),
        )

    def _fit_nuisances(self, X, t, y, available, groups, seed):
        """Outcome and propensity models of one half-sample, cross-fitted by person."""
        outcome = CrossFittedOutcome(
            self.interventions_,
            self._lightgbm(),
            self.n_folds,
            self.random_state + 10 + seed,
            self.n_jobs,
        ).fit(X, t, y, available, groups)
        return outcome, self._propensity(self.n_folds).fit(X, t, available, groups)

    def _e(self, X) -> np.ndarray:
        return self.behaviour_probabilities(X).to_numpy()

    def _behaviour(self, E: Encoded) -> np.ndarray:
        return self.propensity_.predict(E, self._available(E))

    @staticmethod
    def _uplift(p: np.ndarray, e: np.ndarray) -> np.ndarray:
        practice = np.where(e > 0, e * np.nan_to_num(p), 0.0).sum(axis=1, keepdims=True)
        return p - practice

    def _interval(self, bags: np.ndarray, bias_var, level: float | None):
        level = self.interval_level if level is None else level
        if not 0 < level < 1:
            raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
        if len(bags) < 2:
            raise ValueError(f"intervals need n_bags >= 2, the model has n_bags={self.n_bags}")
        centre = bags.mean(axis=0)
        spread = np.sqrt(bags.var(axis=0, ddof=1) + bias_var)
        t = t_quantile(0.5 + level / 2, len(bags) - 1)
        return centre - t * spread, centre + t * spread

    def _out_of_bag_bias_sd(self, X, t, y, groups, halves) -> np.ndarray:
        """Per arm, the spread of the estimates' bias, measured at the observed arm on persons
        the half-samples left out (see `bias_sd`)."""
        if len(halves) < 2:
            return np.zeros(len(self.interventions_))
        total, count = np.zeros(len(X)), np.zeros(len(X))
        encoded = self._encode(X)
        for model, rows in zip(self.bag_estimators_, halves, strict=True):
            out = np.setdiff1d(np.arange(len(X)), rows)
            estimate = self._predict_one(model, encoded.take(out), np.arange(len(out)), t[out])
            total[out] += np.clip(estimate, 0, 1)
            count[out] += 1
        seen = np.flatnonzero(count > 0)
        return bias_sd(
            y[seen],
            total[seen] / count[seen],
            t[seen],
            X.iloc[seen],
            self.interventions_,
            groups_of(groups, seen),
            self._available(X),
            self.random_state + 300,
            self.n_jobs,
        )

    def _predict_bags(self, X) -> np.ndarray:
        return self._bags(self._encode(self._check_predict_input(X)))

    def _bags(self, E: Encoded) -> np.ndarray:
        """Draws of the estimate for every (row, offered arm): (draws, rows, arms), NaN
        elsewhere. Their mean is the estimate (`predict`), their spread the half-samples'.
        With ``point_estimate="full"`` each half-sample's estimate is shifted by the difference
        between the full-data estimate and the half-samples' mean; without half-samples the
        estimate is the one draw."""
        if self.bag_estimators_ is self.estimators_:
            return self._estimates(E, self.estimators_)
        estimate = self._estimates(E, self.estimators_).mean(axis=0)
        if len(self.bag_estimators_) < 2:
            return estimate[None]
        bags = self._estimates(E, self.bag_estimators_)
        return bags - bags.mean(axis=0) + estimate

    def _estimates(self, E: Encoded, models, where=None) -> np.ndarray:
        """Each model's estimate for every (row, offered arm) (those of `where` only, when
        given): (models, rows, arms), NaN elsewhere."""
        wanted = self._available(E)
        if where is not None:
            wanted = wanted & where
        rows, arms = np.nonzero(wanted)
        out = np.full((len(models), len(E), len(self.interventions_)), np.nan)
        # the models of a pooled learner read one pair matrix: built once for all
        pairs = self._encoded_input(E, rows, arms) if isinstance(E, Encoded) else None
        for b, model in enumerate(models):
            p = (
                self._predict_one(model, E, rows, arms)
                if pairs is None
                else self._predict_encoded(model, pairs)
            )
            out[b, rows, arms] = np.clip(p, 0, 1)
        return out

    def _encoded_input(self, E: Encoded, rows, arms):
        """What `_predict_encoded` reads for these (row, arm) pairs, when every model reads
        the same (None: each model goes through `_predict_one`)."""
        return None

    def _predict_encoded(self, model, pairs) -> np.ndarray:
        raise NotImplementedError

    @property
    def screens_exactly(self) -> bool:
        """Whether `screening_estimate` is `estimate` (the estimate is one model)."""
        check_is_fitted(self, "estimators_")
        return len(self.estimators_) == 1

    def _screening_model(self):
        return self.estimators_[0]

    def _encode(self, X: pd.DataFrame) -> Encoded:
        return encode(X, self.categories_)

    def _available(self, X: pd.DataFrame | Encoded) -> np.ndarray:
        if isinstance(X, Encoded):
            codes = X.column("region").astype(np.int64)
            return self._availability_by_code()[codes]
        return self.availability_[pd.Index(self.regions_).get_indexer(X["region"].astype(str))]

    def _availability_by_code(self) -> np.ndarray:
        """What each region offers, by the region's code in the fitted categories (kept: a
        live answer asks several times and pandas' lookup costs more than the trees)."""
        table = self.__dict__.get("_availability_of_code")
        if table is None:
            rows = pd.Index(self.regions_).get_indexer(self.categories_["region"])
            table = self.__dict__["_availability_of_code"] = self.availability_[rows]
        return table

    def _frame(self, values, X, prefix) -> pd.DataFrame:
        return pd.DataFrame(
            values, index=X.index, columns=[f"{prefix}{c}" for c in self.interventions_]
        )

    def _check_fit_input(self, X, treatment, y, groups):
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"X must be a pandas DataFrame of decision-point features, got {type(X).__name__}"
            )
        if "region" not in X:
            raise ValueError("X has no 'region' column; it decides what is offered")
        catalogue = self.catalogue or load_catalogue()
        self.catalogue_ = catalogue
        self.interventions_ = list(catalogue.intervention_codes)
        self.regions_ = list(catalogue.region_codes)
        self.availability_ = catalogue.availability_matrix()
        treatment = pd.Series(np.asarray(treatment, dtype=object))
        y = np.asarray(y)
        for name, values in (("treatment", treatment), ("y", y), ("groups", groups)):
            if values is not None and len(values) != len(X):
                raise ValueError(f"{name} has {len(values)} rows but X has {len(X)}")
        unknown = sorted(set(treatment) - set(self.interventions_), key=str)
        if unknown:
            raise ValueError(f"treatment has interventions not in the catalogue: {unknown[:5]}")
        n_persons = len(X) if groups is None else len(pd.unique(np.asarray(groups)))
        if n_persons < MIN_PERSONS:
            raise ValueError(
                f"fitting needs decision points of at least {MIN_PERSONS} persons (half-samples, "
                f"cross-fitting and the bias check each hold some out); got {n_persons}"
            )
        if not np.isin(y, [0, 1]).all():
            bad = np.flatnonzero(~np.isin(y, [0, 1]))[:10].tolist()
            raise ValueError(f"y must be 0 or 1 (progressed or not); rows {bad} are not")
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self._label_codes = None  # see `_encode_values`
        self.categories_ = {
            c: list(X[c].cat.categories)
            for c in X.columns
            if isinstance(X[c].dtype, pd.CategoricalDtype)
        }
        self._check_regions(X, fitting=True)
        t = pd.Index(self.interventions_).get_indexer(treatment)
        offered = self._available(X)[np.arange(len(X)), t]
        if not offered.all():
            rows = np.flatnonzero(~offered)[:10].tolist()
            raise ValueError(
                f"treatment names interventions the row's region does not offer (rows {rows})"
            )
        self.seen_regions_ = sorted(set(X["region"].astype(str)))
        self.n_fit_rows_ = len(X)
        return X, t, y.astype(np.int64)

    def _check_predict_input(self, X) -> pd.DataFrame:
        check_is_fitted(self, "estimators_")
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}")
        expected = list(self.feature_names_in_)
        missing = [c for c in expected if c not in X]
        if missing:
            raise ValueError(f"X lacks columns the model was trained on: missing {missing}")
        extra = [str(c) for c in X if c not in expected]
        if extra:  # a covariate added since training: the model cannot use it, nor need it
            # Attributed to the first caller outside adapt.models, so the checks one call makes
            # (predict_uplift checks twice) share a place and Python shows the line once.
            frame, level = sys._getframe(0), 1
            while frame is not None and Path(frame.f_code.co_filename).parent == _HERE:
                frame, level = frame.f_back, level + 1
            warnings.warn(
                f"ignoring {len(extra)} column(s) the model was not trained on: "
                + ", ".join(extra),
                UserWarning,
                stacklevel=level,
            )
        X = X[expected]
        for column, categories in self.categories_.items():
            values = X[column]
            if (
                not isinstance(values.dtype, pd.CategoricalDtype)
                or list(values.cat.categories) != categories
            ):
                unseen = sorted(set(values.dropna().astype(str)) - set(categories))
                if unseen:
                    raise ValueError(
                        f"X.{column} has values the fitted model never saw: {unseen[:5]}"
                    )
                X = X.assign(
                    **{column: pd.Categorical(values.astype(object), categories=categories)}
                )
        self._check_regions(X, fitting=False)
        return X

    def _check_regions(self, X, fitting: bool) -> None:
        regions = X["region"].astype(str)
        known = set(self.regions_) if fitting else set(self.seen_regions_)
        bad = ~regions.isin(known).to_numpy()
        if bad.any():
            what = "the catalogue does not know" if fitting else "the fitted model never saw"
            raise ValueError(
                f"X.region has regions {what}: {sorted(set(regions[bad]))[:5]} "
                f"(rows {np.flatnonzero(bad)[:10].tolist()})"
            )

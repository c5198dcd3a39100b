"""What every multi-treatment learner shares: validation, bagging, intervals, usual path."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from adapt.catalogue import Catalogue, load_catalogue
from adapt.models._cross_fit import half_samples
from adapt.models._propensity import CrossFittedPropensity


class MultiTreatmentLearner(BaseEstimator):
    """Base of the meta-learners: estimates P(progress | x, intervention) for every intervention.

    Subclasses declare the nuisance models they need in `nuisance_models` and implement
    `_fit_one` (fit on a half-sample of persons) and `_predict_one` (probabilities for
    (row, arm) pairs). The estimate is the mean over `n_bags` half-samples of persons; their
    spread gives the interval. The behaviour (propensity) model is always fitted: it defines the
    usual path that uplift is measured against.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples : LightGBM settings of every
        base model.
    n_bags : int
        Half-samples of persons; the estimate averages them and their spread gives intervals.
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
    """

    nuisance_models: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        n_estimators: int = 200,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 40,
        n_bags: int = 3,
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
        self.n_folds = n_folds
        self.interval_level = interval_level
        self.min_propensity = min_propensity
        self.propensity_n_estimators = propensity_n_estimators
        self.propensity_max_rows = propensity_max_rows
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.catalogue = catalogue

    # -- public API -------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, treatment, y, groups=None):
        """Fit on decision points: features `X`, chosen `treatment` codes, outcome `y` (0/1).

        `groups` (person ids) keeps a person's rows together in folds and half-samples.
        """
        X, t, y = self._check_fit_input(X, treatment, y, groups)
        available = self._available(X)
        # Out-of-fold propensities only where they enter the estimate (X, DR); elsewhere the
        # behaviour model only names the usual path.
        folds = self.n_folds if "propensity" in self.nuisance_models else 1
        self.propensity_ = CrossFittedPropensity(
            len(self.interventions_),
            folds,
            self.min_propensity,
            self.propensity_max_rows,
            self.random_state,
            self.n_jobs,
            **self._lightgbm(
                n_estimators=self.propensity_n_estimators,
                learning_rate=0.1,
                num_leaves=min(self.num_leaves, 15),
            ),
        ).fit(X, t, available, groups)
        shared = self._prepare(X, t, y, available, groups)
        self.estimators_ = []
        for b, rows in enumerate(half_samples(len(X), groups, self.n_bags, self.random_state)):
            subset = {k: v[rows] for k, v in shared.items()}
            self.estimators_.append(
                self._fit_one(X.iloc[rows], t[rows], y[rows], available[rows], subset, seed=b)
            )
        return self

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """Estimated progression probability under each intervention (NaN where not offered)."""
        # Unoffered cells are NaN in every bag, so a plain mean keeps them NaN.
        return self._frame(self._predict_bags(X).mean(axis=0), X, "p_")

    def predict_interval(self, X: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Lower and upper bounds at `interval_level`, from the spread over half-samples."""
        bags = self._predict_bags(X)
        centre = bags.mean(axis=0)
        if len(bags) < 2:
            raise ValueError("intervals need n_bags >= 2")
        spread = bags.std(axis=0, ddof=1) / np.sqrt(2)
        t = stats.t.ppf(0.5 + self.interval_level / 2, df=len(bags) - 1)
        lower = np.clip(centre - t * spread, 0, 1)
        upper = np.clip(centre + t * spread, 0, 1)
        return self._frame(lower, X, "p_"), self._frame(upper, X, "p_")

    def usual_path(self, X: pd.DataFrame) -> pd.Series:
        """The intervention the behaviour model finds most likely for each row."""
        X = self._check_predict_input(X)
        probs = self.propensity_.predict(X, self._available(X))
        return pd.Series(
            np.asarray(self.interventions_)[probs.argmax(axis=1)], index=X.index, name="usual_path"
        )

    def behaviour_probabilities(self, X: pd.DataFrame) -> pd.DataFrame:
        X = self._check_predict_input(X)
        return self._frame(self.propensity_.predict(X, self._available(X)), X, "e_")

    def predict_uplift(self, X: pd.DataFrame) -> pd.DataFrame:
        """Estimated gain in progression probability of each intervention over the usual path."""
        p = self.predict(X).to_numpy()
        usual = pd.Index(self.interventions_).get_indexer(self.usual_path(X))
        uplift = p - p[np.arange(len(p)), usual][:, None]
        return self._frame(uplift, X, "uplift_")

    # -- for subclasses ---------------------------------------------------------------------------
    def _prepare(self, X, t, y, available, groups) -> dict[str, np.ndarray]:
        """Row-aligned arrays every half-sample needs (e.g. cross-fitted pseudo-outcomes)."""
        return {}

    def _fit_one(self, X, t, y, available, shared, seed):
        raise NotImplementedError

    def _predict_one(self, model, X, rows, arms) -> np.ndarray:
        raise NotImplementedError

    def _lightgbm(self, **override) -> dict:
        settings = {
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
        }
        return {**settings, **override}

    # -- helpers ----------------------------------------------------------------------------------
    def _predict_bags(self, X) -> np.ndarray:
        check_is_fitted(self, "estimators_")
        X = self._check_predict_input(X)
        rows, arms = np.nonzero(self._available(X))
        out = np.full((len(self.estimators_), len(X), len(self.interventions_)), np.nan)
        for b, model in enumerate(self.estimators_):
            out[b, rows, arms] = np.clip(self._predict_one(model, X, rows, arms), 0, 1)
        return out

    def _available(self, X: pd.DataFrame) -> np.ndarray:
        return self.availability_[pd.Index(self.regions_).get_indexer(X["region"].astype(str))]

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
        if not np.isin(y, [0, 1]).all():
            bad = np.flatnonzero(~np.isin(y, [0, 1]))[:10].tolist()
            raise ValueError(f"y must be 0 or 1 (progressed or not); rows {bad} are not")
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
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
        return X, t, y.astype(np.int64)

    def _check_predict_input(self, X) -> pd.DataFrame:
        check_is_fitted(self, "estimators_")
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}")
        expected = list(self.feature_names_in_)
        missing = [c for c in expected if c not in X]
        extra = [c for c in X if c not in expected]
        if missing or extra:
            raise ValueError(
                f"X's columns differ from those seen in fit: missing {missing}, unexpected {extra}"
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

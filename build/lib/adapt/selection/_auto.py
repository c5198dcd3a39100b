"""`auto`: choose the learner and its settings from the data alone, then fit it on all of them."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from adapt.catalogue import Catalogue
from adapt.evaluation import (
    cross_fitted_nuisances,
    out_of_fold_choices,
    score_candidates,
)
from adapt.features import ordered_columns
from adapt.models import make_learner
from adapt.selection._candidates import Candidate, default_candidates

CASEWORKERS = "caseworkers"
# The outcome model of the shared nuisances: settings between the candidates' two, so that no
# candidate is scored by a copy of itself (a policy that maximises the outcome model's own
# estimates gets a head start from the model-based half of the doubly robust value).
NUISANCE_SETTINGS = {"num_leaves": 15, "min_child_samples": 60}
# The search's default length: 1.5 times what the shared nuisances and the reference took (the
# challengers get half as long as those did), so that the whole fit costs about 5 fits of the
# S-learner at any size. At 3,200 and 30,000 persons no challenger beat the reference surely
# on any world measured: a longer search bought nothing there.
BUDGET_FACTOR = 1.5


class AutoLearner(BaseEstimator):
    """Chooses among candidate learners by a truth-free criterion, then refits the chosen one.

    Each candidate is fitted on all but one of `n_folds` person-grouped folds and recommends the
    best offered intervention on the fold left out; the doubly robust value of those out-of-fold
    recommendations, with behaviour and outcome models shared by all candidates (cross-fitted on
    the same folds), is its score. The first candidate is the reference: a challenger replaces
    it only when its gain over the reference is above zero jointly over all challengers at
    `level` (one person bootstrap for all, so the comparison is paired). When the chosen
    candidate does not beat the caseworkers at `fallback_level`, ``fallback_`` is True: the
    data do not show that following the model does better than the caseworkers, and callers
    recommend the usual path (`recommends_usual_path`).

    Parameters
    ----------
    candidates : list of Candidate, optional
        The search space, the reference first; `default_candidates()` when None.
    budget_seconds : float, optional
        Seconds the search may take (nuisances and scoring; not the final fit). Candidates are
        scored in order while the seconds left cover what the reference's scoring took; the
        rest are skipped (recorded as such). The reference is always scored. None:
        `BUDGET_FACTOR` times what the shared nuisances and the reference took; ``math.inf``
        scores every candidate.
    n_folds : int
        Person-grouped folds of the criterion (2: each candidate is fitted twice, on half the
        persons; more folds fit each on more persons at more cost).
    level : float
        Confidence of the comparisons (joint over the challengers).
    fallback_level : float
        One-sided confidence the chosen candidate's gain over the caseworkers must be positive
        at, else the usual path is recommended. 0.5 (the default) falls back when the estimated
        gain is not positive; 0.95, when the lower bound of its 90 % interval is not. The
        stricter rule fell back in 3 of 10 simulated worlds (3,200 persons) where following the
        model closed 0.81-0.84 of the regret: at that size the gain's interval is as wide as the
        gain, and a wrong fallback costs far more than following a model that is only as good
        as the caseworkers.
    n_bootstrap : int
        Person-bootstrap replicates of the comparisons.
    score_n_bags : int
        Bags of each candidate inside the criterion's folds: 1, one model on the fold's rows, by
        default (scoring needs no intervals; the budget goes to candidates).
    n_bags : int, optional
        Half-samples of the chosen learner; None: its default (5). For the blend, 10 rather
        than 5 changed mean regret closure at 3,200 persons by +0.004 (six worlds x five
        seeds) for twice the fit.
    interval_level, random_state, n_jobs, catalogue :
        As for every learner: given to the chosen learner.

    Attributes
    ----------
    best_estimator_ : MultiTreatmentLearner
        The chosen learner, fitted on all rows (the model to save, serve and explain).
    best_candidate_ : str
        Its name (``learner/setting``).
    cv_results_ : DataFrame
        Every candidate's score, intervals, gains and seconds; ``status`` says which was chosen,
        scored or skipped.
    fallback_ : bool
        True when the chosen learner's recommendations do not beat the caseworkers' at
        `fallback_level`.
    """

    # The ordered history is a superset of the summary: every candidate finds its columns in it.
    history = "ordered"

    def __init__(
        self,
        candidates: list[Candidate] | None = None,
        budget_seconds: float | None = None,
        n_folds: int = 2,
        level: float = 0.9,
        fallback_level: float = 0.5,
        n_bootstrap: int = 500,
        score_n_bags: int = 1,
        n_bags: int | None = None,
        interval_level: float = 0.9,
        random_state: int = 0,
        n_jobs: int = 1,
        catalogue: Catalogue | None = None,
    ):
        self.candidates = candidates
        self.budget_seconds = budget_seconds
        self.n_folds = n_folds
        self.level = level
        self.fallback_level = fallback_level
        self.n_bootstrap = n_bootstrap
        self.score_n_bags = score_n_bags
        self.n_bags = n_bags
        self.interval_level = interval_level
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.catalogue = catalogue

    def fit(self, X: pd.DataFrame, treatment, y, groups=None, engine=None):
        """Score the candidates on decision points with the ordered history
        (``decision_points(..., history="ordered")``), choose, and fit the choice on all rows
        (its models on `engine`'s workers when given; the scoring stays here)."""
        candidates = self._check_candidates()
        self._check_input(X, treatment, y, groups)
        t = np.asarray(treatment, dtype=object)
        y = np.asarray(y)
        groups = np.arange(len(X)) if groups is None else np.asarray(groups)
        began = time.perf_counter()
        nuisances = cross_fitted_nuisances(
            Candidate("s").columns(X),
            t,
            y,
            groups,
            self.n_folds,
            self.random_state,
            make_nuisance=lambda: make_learner(
                "s",
                **self._common(n_bags=self.score_n_bags, random_state=self.random_state + 7),
                **NUISANCE_SETTINGS,
            ),
        )
        rows, choices = [], {}
        budget, reference_seconds = self.budget_seconds, 0.0
        for i, candidate in enumerate(candidates):
            spent = time.perf_counter() - began
            # started only when what is left covers what the reference took: a budget is a cap
            if i > 0 and spent + reference_seconds > budget:
                rows.append({"candidate": candidate.name, "status": "skipped: budget spent"})
                continue
            start = time.perf_counter()
            choices[candidate.name] = out_of_fold_choices(
                lambda c=candidate: c.make_for_scoring(**self._common(n_bags=self.score_n_bags)),
                candidate.columns(X),
                t,
                y,
                groups,
                nuisances.folds,
            )
            rows.append(
                {
                    "candidate": candidate.name,
                    "status": "scored",
                    "seconds": time.perf_counter() - start,
                }
            )
            if i == 0:
                reference_seconds = rows[0]["seconds"]
                if budget is None:
                    budget = BUDGET_FACTOR * (time.perf_counter() - began)
        scores = score_candidates(
            choices,
            t,
            y,
            groups,
            nuisances,
            candidates[0].name,
            level=self.level,
            n_bootstrap=self.n_bootstrap,
            seed=self.random_state,
        )
        best = self._choose(scores, candidates[0].name)
        table = pd.DataFrame(rows).set_index("candidate").join(scores)
        table.loc[best, "status"] = "chosen"
        self.fallback_ = not bool(table.loc[best, "over_caseworkers_p"] < 1 - self.fallback_level)
        self.caseworkers_value_ = float(np.mean(y))
        self.search_seconds_ = time.perf_counter() - began
        chosen = next(c for c in candidates if c.name == best)
        self.best_candidate_ = best
        common = self._common() if self.n_bags is None else self._common(n_bags=self.n_bags)
        self.best_estimator_ = chosen.make(**common).fit(
            chosen.columns(X), t, y, groups=groups, engine=engine
        )
        self.best_estimator_.recommends_usual_path_ = self.fallback_
        self.cv_results_ = table.reset_index()
        return self

    @staticmethod
    def _choose(scores: pd.DataFrame, reference: str) -> str:
        """The challenger with the highest value among those surely better than the reference;
        else the reference."""
        better = scores[(scores.index != reference) & (scores["gain_low"] > 0)]
        return str(better["value"].idxmax()) if len(better) else reference

    # -- the chosen learner's public face ---------------------------------------------------------
    @property
    def recommends_usual_path(self) -> bool:
        """Whether callers should keep the usual path: nothing beat the caseworkers surely."""
        check_is_fitted(self, "best_estimator_")
        return self.fallback_

    @property
    def interventions_(self) -> list[str]:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.interventions_

    @property
    def catalogue_(self) -> Catalogue:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.catalogue_

    @property
    def seen_regions_(self) -> list[str]:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.seen_regions_

    def predict(self, X):
        return self.best_estimator_.predict(self._columns(X))

    def predict_interval(self, X, level=None):
        return self.best_estimator_.predict_interval(self._columns(X), level)

    def predict_uplift(self, X):
        return self.best_estimator_.predict_uplift(self._columns(X))

    def predict_uplift_interval(self, X, level=None):
        return self.best_estimator_.predict_uplift_interval(self._columns(X), level)

    def usual_path(self, X):
        return self.best_estimator_.usual_path(self._columns(X))

    def behaviour_probabilities(self, X):
        return self.best_estimator_.behaviour_probabilities(self._columns(X))

    # -- helpers ----------------------------------------------------------------------------------
    def _columns(self, X):
        check_is_fitted(self, "best_estimator_")
        if isinstance(X, pd.DataFrame):
            extra = [c for c in ordered_columns() if c in X]
            if self.best_estimator_.history == "summary":
                return X.drop(columns=extra)
        return X

    def _common(self, **override) -> dict:
        settings = {
            "interval_level": self.interval_level,
            "random_state": self.random_state,
            "n_jobs": self.n_jobs,
            "catalogue": self.catalogue,
        }
        return {**settings, **override}

    def _check_candidates(self) -> list[Candidate]:
        candidates = default_candidates() if self.candidates is None else list(self.candidates)
        if not candidates or not all(isinstance(c, Candidate) for c in candidates):
            raise ValueError("candidates must be a non-empty list of Candidate")
        names = [c.name for c in candidates]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"candidate names must differ; repeated: {repeated}")
        if CASEWORKERS in names:
            raise ValueError(f"{CASEWORKERS!r} is the fallback, not a candidate name")
        if self.budget_seconds is not None and not self.budget_seconds > 0:
            raise ValueError(f"budget_seconds must be > 0 or None, got {self.budget_seconds!r}")
        if not (isinstance(self.n_folds, int | np.integer) and self.n_folds >= 2):
            raise ValueError(f"n_folds must be an integer >= 2, got {self.n_folds!r}")
        for name in ("level", "fallback_level"):
            value = getattr(self, name)
            if not 0 < value < 1:
                raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")
        return candidates

    def _check_input(self, X, treatment, y, groups) -> None:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"X must be a pandas DataFrame of decision-point features, got {type(X).__name__}"
            )
        missing = [c for c in ordered_columns() if c not in X]
        if missing:
            raise ValueError(
                "auto chooses among learners that read the ordered history too; build X with "
                f"decision_points(..., history='ordered') (X lacks {missing})"
            )

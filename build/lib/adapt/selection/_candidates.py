"""The learners `auto` chooses among: a learner and its LightGBM settings, each by a name."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapt.features import ordered_columns
from adapt.models import LEARNERS, make_learner

# Fewer, larger leaves: what small registers (a few thousand persons) support.
REGULARISED = {"num_leaves": 7, "min_child_samples": 100, "n_estimators": 300}


@dataclass(frozen=True)
class Candidate:
    """A learner (short name, see `adapt.models.make_learner`) with settings, named
    ``learner/setting``."""

    learner: str
    setting: str = "default"
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.learner not in LEARNERS:
            raise ValueError(
                f"candidate learner {self.learner!r} is unknown; expected one of {sorted(LEARNERS)}"
            )

    @property
    def name(self) -> str:
        return f"{self.learner}/{self.setting}"

    @property
    def reads_order(self) -> bool:
        return LEARNERS[self.learner].history == "ordered"

    def make(self, **common):
        return make_learner(self.learner, **{**common, **self.params})

    def make_for_scoring(self, **common):
        """`make` for the criterion's folds, which need only the recommendations: a learner
        whose estimates do not use the behaviour model gets the smallest one (it is fitted
        only to report the usual path; it was most of a one-bag S-learner's fit)."""
        if "propensity" not in LEARNERS[self.learner].nuisance_models:
            common = {**common, "propensity_n_estimators": 1}
        return self.make(**common)

    def columns(self, X):
        """The columns of ordered-history features `X` this candidate reads."""
        if self.reads_order:
            return X
        return X.drop(columns=[c for c in ordered_columns() if c in X])


def default_candidates() -> list[Candidate]:
    """The default search space: the reference first, then by what they promise for their cost
    (a budget cuts the tail; X- and T-learners came last on every world measured, and the
    depth-2 policy tree is there for when four readable rules do as well as a model).

    The reference is the blend of the regularised S and sequence learners (its sequence half
    from all rows): over six worlds (presets and worlds built to differ: confounding by an
    ``x_`` covariate, rare interventions in unequal regions) x five seeds at 3,200 persons its
    mean regret closure was ahead of every single learner's on every world, and at 30,000
    within 0.005 of the best (`benchmarks/bench_auto.py`); another candidate replaces it only
    with evidence (see `AutoLearner`).
    """
    full = {"point_estimate": "full"}
    return [
        Candidate("blend", "regularised", {**REGULARISED, **full}),
        Candidate("s", "regularised", REGULARISED),
        Candidate("sequence", "regularised", {**REGULARISED, **full}),
        Candidate("blend", "default", full),
        Candidate("s"),
        Candidate("sequence", "default", full),
        Candidate("dr", "regularised", REGULARISED),
        Candidate("x", "regularised", REGULARISED),
        Candidate("t", "regularised", REGULARISED),
        Candidate("policy_tree", "depth2", full),
    ]

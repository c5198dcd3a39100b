"""Multi-treatment uplift learners with LightGBM base models."""

from adapt.models._base import MultiTreatmentLearner
from adapt.models._blend import BlendLearner
from adapt.models._dr_learner import DRLearner
from adapt.models._encoded import Encoded
from adapt.models._persistence import load_model, save_model
from adapt.models._policy_tree import PolicyTreeLearner
from adapt.models._ranking import best_arms, ranked_arms
from adapt.models._s_learner import SLearner
from adapt.models._sequence_learner import SequenceLearner
from adapt.models._t_learner import TLearner
from adapt.models._x_learner import XLearner

LEARNERS = {
    "s": SLearner,
    "t": TLearner,
    "x": XLearner,
    "dr": DRLearner,
    "sequence": SequenceLearner,
    "policy_tree": PolicyTreeLearner,
    "blend": BlendLearner,
}


def make_learner(name: str, **params) -> MultiTreatmentLearner:
    """A learner by its short name (s, t, x, dr, sequence, policy_tree, blend)."""
    if name not in LEARNERS:
        raise ValueError(f"unknown learner {name!r}; expected one of {sorted(LEARNERS)}")
    return LEARNERS[name](**params)


__all__ = [
    "LEARNERS",
    "BlendLearner",
    "DRLearner",
    "Encoded",
    "MultiTreatmentLearner",
    "PolicyTreeLearner",
    "SLearner",
    "SequenceLearner",
    "TLearner",
    "XLearner",
    "best_arms",
    "ranked_arms",
    "load_model",
    "make_learner",
    "save_model",
]

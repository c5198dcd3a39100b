"""Choosing a learner from the data alone: `AutoLearner` (``--learner auto``).

The criterion is the cross-fitted doubly robust value of the recommendations a candidate makes
out of fold (`adapt.evaluation.score_candidates`); see `AutoLearner` for the rule.
"""

from adapt.selection._auto import CASEWORKERS, AutoLearner
from adapt.selection._candidates import REGULARISED, Candidate, default_candidates

__all__ = ["CASEWORKERS", "REGULARISED", "AutoLearner", "Candidate", "default_candidates"]

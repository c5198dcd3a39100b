"""Explain recommendations: SHAP values of the expected gain overall, and per person the reasons
behind each option in plain Swedish and English."""

from adapt.explain._contributions import arm_contributions, tree_explainer
from adapt.explain._global import (
    INTERVENTION,
    expected_gain,
    gain_explanation,
    global_importance,
    importance_table,
    plot_explanation,
    plot_importance,
)
from adapt.explain._sentences import NEVER_A_REASON, Sentences, feature_values

__all__ = [
    "INTERVENTION",
    "gain_explanation",
    "importance_table",
    "plot_explanation",
    "NEVER_A_REASON",
    "Sentences",
    "arm_contributions",
    "expected_gain",
    "feature_values",
    "global_importance",
    "plot_importance",
    "tree_explainer",
]

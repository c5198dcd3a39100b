"""Explain what drives the recommendations: SHAP values of the expected gain."""

from adapt.explain._global import expected_gain, global_importance, plot_importance

__all__ = ["expected_gain", "global_importance", "plot_importance"]

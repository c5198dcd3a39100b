"""Audit recommendations across gender: Fairlearn's MetricFrame of their value, and the audit
that can gate a model (rates of each intervention for women and men in a similar situation,
judged on bootstrap intervals against thresholds)."""

from adapt.fairness._audit import FairnessAudit, audit_recommendations
from adapt.fairness._card import model_card, write_model_card
from adapt.fairness._gate import audit_choices
from adapt.fairness._parity import rate_parity, situation_strata
from adapt.fairness._plots import plot_audit
from adapt.fairness._report import write_audit
from adapt.fairness._thresholds import load_thresholds
from adapt.fairness.mitigation import (
    RateGapCap,
    capped_recommendations,
    plot_tradeoff,
    tradeoff_curve,
)

__all__ = [
    "FairnessAudit",
    "RateGapCap",
    "audit_choices",
    "audit_recommendations",
    "capped_recommendations",
    "load_thresholds",
    "model_card",
    "plot_audit",
    "plot_tradeoff",
    "rate_parity",
    "situation_strata",
    "tradeoff_curve",
    "write_audit",
    "write_model_card",
]

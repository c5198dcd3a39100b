"""Audit recommendations across gender: the audit that can gate a model (rates of each
intervention for women and men in a similar situation, the value of the choices, the model's
calibration and a gender flip, judged on simultaneous bootstrap intervals against thresholds),
its report and model card, and mitigation by capping rate gaps; the same audit and cap for
allocations of scarce places."""

from adapt.fairness._allocation_audit import audit_allocation
from adapt.fairness._card import model_card, write_model_card
from adapt.fairness._gate import audit_choices
from adapt.fairness._parity import rate_parity, situation_strata
from adapt.fairness._report import write_audit
from adapt.fairness._result import AuditResult, Check
from adapt.fairness._thresholds import load_thresholds
from adapt.fairness.mitigation import (
    RateGapCap,
    capped_allocate,
    capped_recommendations,
    plot_tradeoff,
    tradeoff_curve,
)

__all__ = [
    "AuditResult",
    "Check",
    "RateGapCap",
    "audit_allocation",
    "audit_choices",
    "capped_allocate",
    "capped_recommendations",
    "load_thresholds",
    "model_card",
    "plot_tradeoff",
    "rate_parity",
    "situation_strata",
    "tradeoff_curve",
    "write_audit",
    "write_model_card",
]

"""Audit recommendations across groups (gender by default) with Fairlearn's MetricFrame."""

from adapt.fairness._audit import FairnessAudit, audit_recommendations
from adapt.fairness._plots import plot_audit

__all__ = ["FairnessAudit", "audit_recommendations", "plot_audit"]

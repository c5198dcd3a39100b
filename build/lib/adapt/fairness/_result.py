"""What the gender audit returns: its checks and its verdict, typed, and their JSON form."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np

PASSED, FAILED, CANNOT_JUDGE = "passed", "failed", "cannot_judge"


@dataclass
class Check:
    """One figure judged against its threshold on its simultaneous interval.

    ``status`` is ``passed``, ``failed`` (the whole interval lies beyond the threshold) or
    ``cannot_judge`` (too few recommendations to say; ``reason`` says why).
    """

    subject: str
    name: str
    value: float | None
    interval: list[float | None] | None
    threshold: list[float | None]
    status: str
    reason: str | None = None
    n_recommended: int | None = None

    @property
    def passed(self) -> bool | None:
        """True or False when judged, None when it cannot be judged."""
        return None if self.status == CANNOT_JUDGE else self.status == PASSED

    def to_json(self) -> dict:
        return _json_ready({**asdict(self), "passed": self.passed})


@dataclass
class AuditResult:
    """The gender audit of one set of choices (see `audit_choices`).

    ``verdict`` is ``failed`` when a check on the recommender failed, ``cannot_judge`` when
    women or men were too few to compare or no check on the recommender could be judged, and
    ``passed`` otherwise. `to_json` gives the form ``audit.json`` holds.
    """

    n_decision_points: int
    groups: dict
    persons: dict
    thresholds: dict
    compared: bool
    model: dict | None = None
    sources: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)
    families: dict = field(default_factory=dict)
    values: list = field(default_factory=list)
    calibration: dict | None = None
    flip: dict | None = None
    intersections: list = field(default_factory=list)
    tradeoff: list = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    audited: str = "recommender"  # or "allocation": what stands as the recommender

    def of(self, subject: str = "recommender", status: str | None = None) -> list[Check]:
        """The checks on `subject`, only those of `status` when given."""
        return [c for c in self.checks if c.subject == subject and status in (None, c.status)]

    @property
    def verdict(self) -> str:
        if not self.compared:
            return CANNOT_JUDGE
        if self.of(status=FAILED):
            return FAILED
        return PASSED if self.of(status=PASSED) else CANNOT_JUDGE

    @property
    def passed(self) -> bool | None:
        """True or False, None when the audit cannot judge."""
        return None if self.verdict == CANNOT_JUDGE else self.verdict == PASSED

    def to_json(self) -> dict:
        plain = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "checks"}
        return _json_ready(
            {
                **plain,
                "checks": [c.to_json() for c in self.checks],
                "verdict": self.verdict,
                "passed": self.passed,
            }
        )


def _json_ready(value):
    """NaN becomes None and numpy scalars plain numbers, all the way down."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    return value

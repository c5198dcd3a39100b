"""Compare a population with a target set, figure by figure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.calibration._outcomes import person_outcomes
from adapt.calibration._targets import Target, load_targets
from adapt.catalogue import Catalogue


def _rows(outcomes: pd.DataFrame, expression: str) -> pd.DataFrame:
    return outcomes if expression == "all" else outcomes.query(expression)


def measure(target: Target, outcomes: pd.DataFrame) -> tuple[float | str, int, float]:
    """The value of `target` in `outcomes`, the persons it is measured on, its standard error."""
    if target.kind == "highest":
        means = outcomes.groupby(target.by)[target.column].mean()
        return str(means.idxmax()), len(outcomes), float("nan")
    rows = _rows(outcomes, target.population)
    n = len(rows)
    if n == 0:
        return float("nan"), 0, float("nan")
    if target.kind in ("share", "at_least"):
        p = float(rows.eval(target.condition).mean())
        return p, n, float(np.sqrt(p * (1 - p) / n))
    if target.kind == "mean":
        values = rows[target.column].astype("float64")
        return float(values.mean()), n, float(values.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
    if target.kind == "hours_share":
        hours = rows["total_hours"].to_numpy(float)
        part = np.where(rows.eval(target.condition).to_numpy(bool), hours, 0.0)
        if hours.sum() <= 0:
            return float("nan"), n, float("nan")
        share = part.sum() / hours.sum()
        # Delta-method standard error of a ratio of sums over persons.
        residual = part - share * hours
        return float(share), n, float(np.sqrt((residual**2).sum()) / hours.sum())
    raise ValueError(f"unknown target kind {target.kind!r}")


def _passed(target: Target, value) -> bool:
    if target.kind == "highest":
        return value == target.value
    if isinstance(value, float) and np.isnan(value):
        return False
    if target.kind == "at_least":
        return value >= target.value
    return abs(value - target.value) <= target.tolerance + 1e-12


def _sampling(target: Target, value, standard_error: float) -> bool:
    """A miss that sampling error explains: within the tolerance plus two standard errors."""
    if target.kind in ("highest", "at_least") or not np.isfinite(standard_error):
        return False
    return abs(value - target.value) <= target.tolerance + 2 * standard_error


def calibration_report(
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    targets: str | list[Target] = "mia",
    catalogue: Catalogue | None = None,
) -> pd.DataFrame:
    """One row per target: figure, target, simulated, tolerance, passed, n, standard error and
    `sampling` (missed, but within what sampling error explains at this n)."""
    if isinstance(targets, str):
        targets = load_targets(targets)
    outcomes = person_outcomes(persons, episodes, catalogue)
    rows = []
    for target in targets:
        value, n, standard_error = measure(target, outcomes)
        passed = _passed(target, value)
        rows.append(
            {
                "id": target.id,
                "figure": target.figure,
                "kind": target.kind,
                "target": target.value,
                "simulated": value,
                "tolerance": target.tolerance,
                "passed": passed,
                "sampling": not passed and _sampling(target, value, standard_error),
                "n": n,
                "standard_error": standard_error,
                "source": target.source,
            }
        )
    return pd.DataFrame(rows)


def format_report(report: pd.DataFrame) -> str:
    """The report as a plain-text table, shares in percent and means as they are.

    Each figure shows n (persons it is measured on) and its standard error; a miss that sampling
    error explains reads `sampling`, any other miss `FAIL`.
    """

    def show(kind, value):
        if isinstance(value, str):
            return value
        if kind == "mean":
            return f"{value:.2f}"
        return f"{100 * value:.1f} %"

    def tolerance(kind, tol):
        if kind in ("highest", "at_least"):
            return "" if kind == "highest" else "min"
        return f"±{tol:.2f}" if kind == "mean" else f"±{100 * tol:.0f} pp"

    def error(kind, se):
        if not np.isfinite(se):
            return ""
        return f"{se:.2f}" if kind == "mean" else f"{100 * se:.1f} pp"

    lines = [
        f"{'figure':<66} {'target':>8} {'simulated':>9} {'tol':>7} {'n':>8} {'s.e.':>7}  result"
    ]
    for r in report.itertuples():
        result = "pass" if r.passed else ("sampling" if r.sampling else "FAIL")
        lines.append(
            f"{r.figure[:66]:<66} {show(r.kind, r.target):>8} {show(r.kind, r.simulated):>9} "
            f"{tolerance(r.kind, r.tolerance):>7} {r.n:>8} {error(r.kind, r.standard_error):>7}"
            f"  {result}"
        )
    n_pass, n_sampling = int(report["passed"].sum()), int(report["sampling"].sum())
    n_fail = len(report) - n_pass - n_sampling
    lines.append(
        f"{n_pass} of {len(report)} targets met; {n_sampling} missed within sampling error "
        f"(tolerance + 2 s.e.); {n_fail} missed beyond it"
    )
    return "\n".join(lines)

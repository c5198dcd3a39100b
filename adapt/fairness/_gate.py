"""The audit that can gate a model: figures by gender, checks against thresholds, a verdict."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from adapt.catalogue import Catalogue, load_catalogue
from adapt.fairness._parity import rate_parity, situation_strata
from adapt.features import KEYS, decision_points

THRESHOLDS = ("similar_rate_ratio", "min_recommended", "level", "n_bootstrap")


def load_thresholds(path: str | Path | None = None) -> dict:
    """The audit's thresholds: the defaults (``adapt/fairness/thresholds.yaml``), overridden by
    the YAML file at `path`. Unknown names and values out of range are refused."""
    text = resources.files("adapt.fairness").joinpath("thresholds.yaml").read_text("utf-8")
    thresholds = yaml.safe_load(text)
    if path is not None:
        given = yaml.safe_load(Path(path).read_text("utf-8")) or {}
        if not isinstance(given, dict):
            raise ValueError(f"{path}: expected a mapping of thresholds")
        unknown = sorted(set(given) - set(THRESHOLDS))
        if unknown:
            raise ValueError(f"{path}: unknown thresholds {unknown}; known: {list(THRESHOLDS)}")
        thresholds.update(given)
    ratio = thresholds["similar_rate_ratio"]
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
        raise ValueError(f"similar_rate_ratio must be a number in (0, 1], got {ratio!r}")
    for name in ("min_recommended", "n_bootstrap"):
        value = thresholds[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    level = thresholds["level"]
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level must be strictly between 0 and 1, got {level!r}")
    return thresholds


def audit_choices(
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    recommendations: pd.DataFrame,
    thresholds: dict | None = None,
    catalogue: Catalogue | None = None,
    seed: int = 0,
) -> dict:
    """Audit a recommender's choices at the recorded decision points, and the caseworkers'.

    `recommendations` holds ``person_id``, ``episode_no`` and ``recommended`` (as `adapt
    recommend` writes it), one row per decision point of the tables. Returns a JSON-ready dict:
    ``figures`` per subject (``recommender``, ``behaviour``), ``checks`` (subject, name, value,
    threshold, passed) and ``passed``: every check on the recommender passed.
    """
    thresholds = thresholds or load_thresholds()
    catalogue = catalogue or load_catalogue()
    points = decision_points(persons, episodes, catalogue)
    chosen = _recommended_at(points.keys, recommendations)
    strata = situation_strata(points.features)
    gender = points.features["gender"].astype(object)
    codes = list(catalogue.intervention_codes)
    figures, checks = {}, []
    for subject, choices in (("recommender", chosen), ("behaviour", points.treatment)):
        table = rate_parity(
            choices,
            gender,
            strata,
            points.keys["person_id"],
            codes,
            n_bootstrap=thresholds["n_bootstrap"],
            level=thresholds["level"],
            seed=seed,
        )
        counts = pd.Series(np.asarray(choices, dtype=object)).value_counts()
        table["n_recommended"] = table["intervention"].map(counts).fillna(0).astype(int)
        figures[subject] = table
        checks += _ratio_checks(subject, table, thresholds)
    return {
        "n_decision_points": len(points),
        "groups": {g: int((gender == g).sum()) for g in ("woman", "man", "unknown")},
        "thresholds": thresholds,
        "figures": {s: t.replace({np.nan: None}).to_dict("records") for s, t in figures.items()},
        "checks": checks,
        "passed": all(c["passed"] for c in checks if c["subject"] == "recommender"),
    }


def _recommended_at(keys: pd.DataFrame, recommendations: pd.DataFrame) -> pd.Series:
    missing = [c for c in (*KEYS, "recommended") if c not in recommendations]
    if missing:
        raise ValueError(f"recommendations lack the column(s) {missing}")
    table = recommendations[[*KEYS, "recommended"]]
    duplicated = table.duplicated(list(KEYS), keep=False)
    if duplicated.any():
        rows = np.flatnonzero(duplicated.to_numpy())[:5].tolist()
        raise ValueError(f"recommendations: duplicate (person_id, episode_no) at rows {rows}")
    merged = keys.merge(table, on=list(KEYS), how="left", validate="one_to_one")
    absent = merged["recommended"].isna()
    if absent.any():
        first = merged.loc[absent, list(KEYS)].head(3).to_dict("records")
        raise ValueError(
            f"recommendations: {int(absent.sum())} decision point(s) of the data have none, "
            f"e.g. {first}"
        )
    extra = len(table) - len(keys)
    if extra > 0:
        raise ValueError(f"recommendations: {extra} row(s) name no decision point of the data")
    return merged["recommended"]


def _ratio_checks(subject: str, table: pd.DataFrame, thresholds: dict) -> list[dict]:
    bound = float(thresholds["similar_rate_ratio"])
    checks = []
    for row in table.itertuples(index=False):
        if row.n_recommended < thresholds["min_recommended"] or not np.isfinite(row.similar_ratio):
            continue
        # Judged on the interval: only a whole interval past the bound fails.
        passed = not (row.similar_ratio_upper < bound or row.similar_ratio_lower > 1 / bound)
        checks.append(
            {
                "subject": subject,
                "name": f"similar_rate_ratio[{row.intervention}]",
                "value": float(row.similar_ratio),
                "interval": [float(row.similar_ratio_lower), float(row.similar_ratio_upper)],
                "threshold": [bound, 1 / bound],
                "passed": bool(passed),
            }
        )
    return checks

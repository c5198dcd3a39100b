"""The audit that can gate a model: figures by gender, checks against thresholds, a verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.catalogue import Catalogue, load_catalogue
from adapt.evaluation import truth_matrix
from adapt.fairness._intersections import intersection_parity
from adapt.fairness.mitigation import tradeoff_curve
from adapt.fairness._outcomes import (
    calibration_figures,
    gender_flip,
    reads_sensitive,
    value_figures,
)
from adapt.fairness._parity import GROUPS, rate_parity, situation_strata
from adapt.fairness._thresholds import load_thresholds
from adapt.features import KEYS, decision_points, decision_points_for

TRADEOFF_STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)  # of RateGapCap, for the report's curve


def audit_choices(
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    recommendations: pd.DataFrame,
    thresholds: dict | None = None,
    catalogue: Catalogue | None = None,
    seed: int = 0,
    *,
    model=None,
    truth: pd.DataFrame | None = None,
) -> dict:
    """Audit a recommender's choices at the recorded decision points, and the caseworkers'.

    Parameters
    ----------
    persons, episodes : DataFrame
        The contract tables the choices were made for.
    recommendations : DataFrame
        ``person_id``, ``episode_no`` and ``recommended`` (as `adapt recommend` writes it), one
        row per decision point of the tables.
    thresholds : dict, optional
        As :func:`load_thresholds` gives; its defaults otherwise.
    model : fitted learner, optional
        Adds its estimates: benefit and expected progression, calibration per gender, and the
        counterfactual gender flip.
    truth : DataFrame, optional
        The simulator's truth: the true value of every choice beside each estimate.

    With a model, ``tradeoff`` holds `tradeoff_curve` of its estimates: what capping the rate
    gaps with `RateGapCap` would cost in value (true value on simulated data).

    Returns
    -------
    dict
        JSON-ready: ``figures`` (rates per subject), ``values``, ``calibration``, ``flip``,
        ``intersections``, ``summary``, ``checks`` (subject, name, value, interval, threshold,
        passed) and ``passed``: every check on the recommender passed and women and men were
        numerous enough to compare.
    """
    thresholds = thresholds or load_thresholds()
    catalogue = catalogue or load_catalogue()
    points = decision_points(persons, episodes, catalogue)
    codes = list(catalogue.intervention_codes)
    chosen = _recommended_at(points.keys, recommendations).to_numpy(dtype=object)
    _check_offered(chosen, points, catalogue)
    strata = situation_strata(points.features)
    gender = points.features["gender"].astype(object).to_numpy()
    person = points.keys["person_id"].to_numpy()
    observed = points.treatment.astype(object).to_numpy()
    persons_by_group = {g: int(pd.unique(person[gender == g]).size) for g in (*GROUPS, "unknown")}
    settings = {
        "n_bootstrap": thresholds["n_bootstrap"],
        "level": thresholds["level"],
        "seed": seed,
    }
    result = {
        "n_decision_points": len(points),
        "groups": {g: int((gender == g).sum()) for g in (*GROUPS, "unknown")},
        "persons": persons_by_group,
        "thresholds": thresholds,
        "model": None if model is None else _describe(model),
        "sources": [],
        "figures": {},
        "values": [],
        "calibration": None,
        "flip": None,
        "intersections": [],
        "tradeoff": [],
        "checks": [],
    }
    result["compared"] = min(persons_by_group[g] for g in GROUPS) >= thresholds["min_group_size"]
    if not result["compared"]:
        result.update(summary={}, passed=False)
        return result

    checks = result["checks"]
    for subject, choices in (("recommender", chosen), ("behaviour", observed)):
        table = rate_parity(choices, gender, strata, person, codes, **settings)
        counts = pd.Series(choices).value_counts()
        table["n_recommended"] = table["intervention"].map(counts).fillna(0).astype(int)
        result["figures"][subject] = table.replace({np.nan: None}).to_dict("records")
        checks += _ratio_checks(subject, table, thresholds)

    # Estimates and truth share the model's arm order (the catalogue's without a model).
    arms = list(model.interventions_) if model is not None else codes
    arm = pd.Index(arms).get_indexer
    values = {}
    if model is not None:
        features = _model_features(model, persons, episodes, points)
        values["estimated"] = model.predict(features).to_numpy(float)
        predicted = values["estimated"][np.arange(len(points)), arm(observed)]
        result["calibration"] = calibration_figures(
            predicted, points.outcome.to_numpy(float), gender, strata, person, **settings
        )
        checks.append(_calibration_check(result["calibration"], thresholds))
        result["flip"] = gender_flip(model, features, gender)
    if truth is not None:
        values["true"] = truth_matrix(truth, points.keys, arms).to_numpy(float)
    if values:
        result["sources"] = list(values)
        result["values"] = _values(
            values, arm(chosen), arm(observed), gender, strata, person, settings
        )
        check = _benefit_check(result["values"], result["sources"][0], thresholds)
        if check is not None:
            checks.append(check)
    if model is not None:
        p = pd.DataFrame(values["estimated"], columns=[f"p_{c}" for c in arms])
        curve = tradeoff_curve(
            p,
            gender,
            strata,
            values=values.get("true"),
            strengths=TRADEOFF_STRENGTHS,
            max_gap=1 - thresholds["similar_rate_ratio"],
            min_recommended=thresholds["min_recommended"],
        )
        result["tradeoff"] = curve.to_dict("records")

    result["intersections"] = intersection_parity(
        {"recommender": chosen, "behaviour": observed},
        gender,
        strata,
        person,
        points.features,
        codes,
        min_group_size=thresholds["min_group_size"],
        min_recommended=thresholds["min_recommended"],
        **settings,
    )
    result["summary"] = _summary(result)
    result["passed"] = all(c["passed"] for c in checks if c["subject"] == "recommender")
    return _json_ready(result)


def _values(values, chosen, observed, gender, strata, person, settings) -> list[dict]:
    if (chosen < 0).any() or (observed < 0).any():
        raise ValueError("the model has no estimate for some chosen interventions")
    for source, matrix in values.items():
        rows = np.arange(len(chosen))
        missing = np.isnan(matrix[rows, chosen]) | np.isnan(matrix[rows, observed])
        if missing.any():
            raise ValueError(
                f"the {source} values lack {int(missing.sum())} of the choices, "
                f"first at decision points {np.flatnonzero(missing)[:5].tolist()}"
            )
    return value_figures(values, chosen, observed, gender, strata, person, **settings)


def _model_features(model, persons, episodes, points) -> pd.DataFrame:
    own = decision_points_for(model, persons, episodes)
    if not own.keys.reset_index(drop=True).equals(points.keys.reset_index(drop=True)):
        raise ValueError("the model's decision points differ from the data's")  # a bug if seen
    return own.features


def _describe(model) -> dict:
    return {"learner": type(model).__name__, "reads": reads_sensitive(model)}


def _check_offered(chosen: np.ndarray, points, catalogue: Catalogue) -> None:
    regions = pd.Index(catalogue.region_codes).get_indexer(points.features["region"].astype(object))
    arms = pd.Index(catalogue.intervention_codes).get_indexer(chosen)
    unknown = arms < 0
    if unknown.any():
        names = sorted(set(chosen[unknown].astype(str)))[:5]
        raise ValueError(
            f"recommendations: recommended names interventions the catalogue lacks: {names}"
        )
    offered = catalogue.availability_matrix()[regions, arms]
    if not offered.all():
        rows = points.keys[~offered].head(3).to_dict("records")
        raise ValueError(
            f"recommendations: {int((~offered).sum())} recommended intervention(s) are not "
            f"offered in the person's region, e.g. at {rows}"
        )


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


def _outside(low: float, high: float, bounds: tuple[float, float]) -> bool:
    """Whether the whole interval lies below the lower bound or above the upper one."""
    return bool(high < bounds[0] or low > bounds[1])


def _ratio_checks(subject: str, table: pd.DataFrame, thresholds: dict) -> list[dict]:
    bound = float(thresholds["similar_rate_ratio"])
    checks = []
    for row in table.itertuples(index=False):
        if row.n_recommended < thresholds["min_recommended"] or not np.isfinite(row.similar_ratio):
            continue
        interval = [float(row.similar_ratio_lower), float(row.similar_ratio_upper)]
        checks.append(
            {
                "subject": subject,
                "name": f"similar_rate_ratio[{row.intervention}]",
                "value": float(row.similar_ratio),
                "interval": interval,
                "threshold": [bound, 1 / bound],
                "passed": not _outside(*interval, (bound, 1 / bound)),
            }
        )
    return checks


def _benefit_check(records: list[dict], source: str, thresholds: dict) -> dict | None:
    record = next(
        r
        for r in records
        if (r["source"], r["subject"], r["measure"]) == (source, "recommender", "benefit")
    )
    # A ratio means something only when men's benefit is surely positive.
    if not record["similar_man_lower"] > 0:
        return None
    # One-sided: a larger benefit for women narrows the gap caseworkers' choices left.
    bound = float(thresholds["similar_benefit_ratio"])
    interval = [float(record["similar_ratio_lower"]), float(record["similar_ratio_upper"])]
    return {
        "subject": "recommender",
        "name": f"similar_benefit_ratio[{source}]",
        "value": float(record["similar_ratio"]),
        "interval": interval,
        "threshold": [bound, None],
        "passed": not _outside(*interval, (bound, np.inf)),
    }


def _calibration_check(calibration: dict, thresholds: dict) -> dict:
    bound = float(thresholds["calibration_gap"])
    interval = calibration["similar_residual_gap_interval"]
    return {
        "subject": "recommender",
        "name": "calibration_gap",
        "value": calibration["similar_residual_gap"],
        "interval": interval,
        "threshold": [-bound, bound],
        "passed": not _outside(*interval, (-bound, bound)),
    }


def _summary(result: dict) -> dict:
    """Headline figures: the women-minus-men gap in expected progression before (behaviour) and
    after (recommender), the benefit ratio, the flip, the worst rate ratios."""
    summary = {}
    for record in result["values"]:
        source, subject, measure = record["source"], record["subject"], record["measure"]
        if measure == "progression":
            summary[f"{source}_progression_gap_{subject}"] = record["similar_gap"]
        else:
            summary[f"{source}_benefit_ratio"] = record["similar_ratio"]
    if result["flip"] is not None:
        summary["flip_changed_share"] = result["flip"]["changed_share"]
    if result["calibration"] is not None:
        summary["calibration_gap"] = result["calibration"]["similar_residual_gap"]
    for subject, table in result["figures"].items():
        judged = [
            r["similar_ratio"]
            for r in table
            if r["similar_ratio"] is not None
            and r["n_recommended"] >= result["thresholds"]["min_recommended"]
        ]
        if judged:
            summary[f"{subject}_lowest_rate_ratio"] = min(judged)
            summary[f"{subject}_highest_rate_ratio"] = max(judged)
    summary["checks_failed_recommender"] = sum(
        not c["passed"] for c in result["checks"] if c["subject"] == "recommender"
    )
    summary["checks_failed_behaviour"] = sum(
        not c["passed"] for c in result["checks"] if c["subject"] == "behaviour"
    )
    return summary


def _json_ready(value):
    """NaN becomes None and numpy scalars plain numbers, all the way down."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    return value

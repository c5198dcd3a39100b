"""The audit that can gate a model: figures by gender, checks against thresholds, a verdict.

The checks on one subject (the recommender, or the caseworkers' recorded behaviour) form one
family judged on simultaneous bootstrap intervals (`adapt._bootstrap.simultaneous_interval`): the
chance that chance alone fails *some* check of the family stays near 1 - level, however many
interventions the catalogue has. A figure resting on too few recommendations is not judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapt._bootstrap import simultaneous_interval
from adapt.catalogue import Catalogue, load_catalogue
from adapt.evaluation import truth_matrix
from adapt.fairness._intersections import intersection_parity
from adapt.fairness._outcomes import (
    calibration_figures,
    gender_flip,
    reads_sensitive,
    value_figures,
)
from adapt.fairness._parity import GROUPS, parity_table, rate_means, situation_strata
from adapt.fairness._result import CANNOT_JUDGE, FAILED, PASSED, AuditResult, Check
from adapt.fairness._thresholds import load_thresholds
from adapt.fairness.mitigation import tradeoff_curve
from adapt.features import KEYS, decision_points, decision_points_for

TRADEOFF_STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)  # of RateGapCap, for the report's curve


@dataclass
class _Candidate:
    """A check before judgement: its point, bootstrap replicates and bounds, or why not judged."""

    subject: str
    name: str
    value: float
    replicates: np.ndarray | None
    bounds: tuple[float, float]
    n_recommended: int | None = None
    reason: str | None = None
    log_scale: bool = True  # a ratio; a gap is judged on its own scale


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
) -> AuditResult:
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
    AuditResult
        Rates per subject (``figures``) and per family of interventions (``families``),
        ``values``, ``calibration``, ``flip``, ``intersections``, ``summary``, the ``checks``
        and the ``verdict``; ``to_json()`` gives audit.json's form.
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
    settings = {"n_bootstrap": thresholds["n_bootstrap"], "seed": seed}
    level = thresholds["level"]
    result = AuditResult(
        n_decision_points=len(points),
        groups={g: int((gender == g).sum()) for g in (*GROUPS, "unknown")},
        persons=persons_by_group,
        thresholds=thresholds,
        compared=min(persons_by_group[g] for g in GROUPS) >= thresholds["min_group_size"],
        model=None if model is None else _describe(model),
    )
    if not result.compared:
        return result

    candidates = []
    for subject, choices in (("recommender", chosen), ("behaviour", observed)):
        means = rate_means(choices, gender, strata, person, codes, **settings)
        table = parity_table(means, choices, gender, strata, codes, level)
        result.figures[subject] = table.replace({np.nan: None}).to_dict("records")
        result.families[subject] = _family_rates(choices, gender, strata, person, catalogue)
        candidates += _ratio_candidates(subject, table, means, thresholds)

    # Estimates and truth share the model's arm order (the catalogue's without a model).
    arms = list(model.interventions_) if model is not None else codes
    arm = pd.Index(arms).get_indexer
    values = {}
    if model is not None:
        features = _model_features(model, persons, episodes, points)
        values["estimated"] = model.predict(features).to_numpy(float)
        predicted = values["estimated"][np.arange(len(points)), arm(observed)]
        result.calibration, residual = calibration_figures(
            predicted,
            points.outcome.to_numpy(float),
            gender,
            strata,
            person,
            level=level,
            **settings,
        )
        candidates.append(_calibration_candidate(result.calibration, residual, thresholds))
        result.flip = gender_flip(model, features, gender)
    if truth is not None:
        values["true"] = truth_matrix(truth, points.keys, arms).to_numpy(float)
    if values:
        result.sources = list(values)
        result.values, means = _values(
            values, arm(chosen), arm(observed), gender, strata, person, level, settings
        )
        candidates += _benefit_candidates(result.values, means, result.sources[0], thresholds)
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
        result.tradeoff = curve.to_dict("records")

    result.intersections = intersection_parity(
        {"recommender": chosen, "behaviour": observed},
        gender,
        strata,
        person,
        points.features,
        codes,
        min_group_size=thresholds["min_group_size"],
        min_recommended=thresholds["min_recommended"],
        level=level,
        **settings,
    )
    result.checks = _judge(candidates, level)
    result.summary = _summary(result)
    return result


def _judge(candidates: list[_Candidate], level: float) -> list[Check]:
    """Each subject's judged candidates on one simultaneous band; the rest cannot be judged."""
    checks = []
    for subject in dict.fromkeys(c.subject for c in candidates):
        family = [c for c in candidates if c.subject == subject]
        judged = [c for c in family if c.reason is None]
        if judged:
            # ratios on the log scale, where their spread is near symmetric; gaps as they are
            logged = np.array([c.log_scale for c in judged])
            replicates = np.column_stack([c.replicates for c in judged])
            point = np.array([c.value for c in judged], dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                replicates[:, logged] = np.log(replicates[:, logged])
                point[logged] = np.log(point[logged])
            low, high = simultaneous_interval(replicates, point, level)
            low[logged], high[logged] = np.exp(low[logged]), np.exp(high[logged])
            bands = dict(zip(map(id, judged), zip(low, high, strict=True), strict=True))
        for c in family:
            interval, status = None, CANNOT_JUDGE
            if c.reason is None:
                interval = [float(v) for v in bands[id(c)]]
                status = FAILED if _outside(*interval, c.bounds) else PASSED
            checks.append(
                Check(
                    subject=c.subject,
                    name=c.name,
                    value=c.value,
                    interval=interval,
                    threshold=[c.bounds[0], None if np.isinf(c.bounds[1]) else c.bounds[1]],
                    status=status,
                    reason=c.reason,
                    n_recommended=c.n_recommended,
                )
            )
    return checks


def _family_rates(choices, gender, strata, person, catalogue: Catalogue) -> list[dict]:
    """Women's and men's share of recommendations falling in each family of interventions,
    overall and in a similar situation."""
    names = list(catalogue.families())
    family = [catalogue.interventions[c].family for c in np.asarray(choices, dtype=object)]
    # Point estimates only: the family shares are described, not judged.
    means = rate_means(family, gender, strata, person, names, n_bootstrap=0)
    return [
        {
            "family": name,
            "share_woman": means.point[0, 0, j],
            "share_man": means.point[0, 1, j],
            "similar_share_woman": means.point[1, 0, j],
            "similar_share_man": means.point[1, 1, j],
        }
        for j, name in enumerate(names)
    ]


def _values(values, chosen, observed, gender, strata, person, level, settings):
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
    return value_figures(values, chosen, observed, gender, strata, person, level=level, **settings)


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
        names = sorted({str(c) for c in chosen[unknown]})[:5]
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


def _ratio_candidates(subject: str, table: pd.DataFrame, means, thresholds: dict) -> list:
    """A rate-ratio check per intervention recommended at all; judged only when it was
    recommended often enough where women and men share a situation."""
    bound = float(thresholds["similar_rate_ratio"])
    least = thresholds["min_recommended"]
    replicates = means.ratio_replicates()[:, 1]  # the similar-situation ratios
    candidates = []
    for j, row in enumerate(table.itertuples(index=False)):
        if row.n_recommended == 0:
            continue
        reason = None
        if row.n_comparable < least:
            reason = (
                f"recommended {row.n_comparable} times to women or men in situations both "
                f"share ({row.n_woman} times to women and {row.n_man} to men in all); at "
                f"least {least} needed"
            )
        candidates.append(
            _Candidate(
                subject=subject,
                name=f"similar_rate_ratio[{row.intervention}]",
                value=float(row.similar_ratio),
                replicates=replicates[:, j],
                bounds=(bound, 1 / bound),
                n_recommended=int(row.n_recommended),
                reason=reason,
            )
        )
    return candidates


def _benefit_candidates(records: list[dict], means, source: str, thresholds: dict) -> list:
    j, record = next(
        (j, r)
        for j, r in enumerate(records)
        if (r["source"], r["subject"], r["measure"]) == (source, "recommender", "benefit")
    )
    # A ratio means something only when men's benefit is surely positive.
    if not record["similar_man_lower"] > 0:
        return []
    # One-sided: a larger benefit for women narrows the gap caseworkers' choices left.
    bound = float(thresholds["similar_benefit_ratio"])
    return [
        _Candidate(
            subject="recommender",
            name=f"similar_benefit_ratio[{source}]",
            value=float(record["similar_ratio"]),
            replicates=means.ratio_replicates()[:, 1, j],
            bounds=(bound, np.inf),
        )
    ]


def _calibration_candidate(calibration: dict, residual, thresholds: dict) -> _Candidate:
    bound = float(thresholds["calibration_gap"])
    return _Candidate(
        subject="recommender",
        name="calibration_gap",
        value=calibration["similar_residual_gap"],
        replicates=residual.gap_replicates()[:, 1, 0],
        bounds=(-bound, bound),
        log_scale=False,
    )


def _summary(result: AuditResult) -> dict:
    """Headline figures: the women-minus-men gap in expected progression before (behaviour) and
    after (recommender), the benefit ratio, the flip, the worst judged rate ratios, and how many
    checks failed or could not be judged."""
    summary = {}
    for record in result.values:
        source, subject, measure = record["source"], record["subject"], record["measure"]
        if measure == "progression":
            summary[f"{source}_progression_gap_{subject}"] = record["similar_gap"]
        else:
            summary[f"{source}_benefit_ratio"] = record["similar_ratio"]
    for record in result.families.get("recommender", []):
        gap = record["similar_share_woman"] - record["similar_share_man"]
        summary[f"family_share_gap_{record['family']}"] = gap
    if result.flip is not None:
        summary["flip_changed_share"] = result.flip["changed_share"]
    if result.calibration is not None:
        summary["calibration_gap"] = result.calibration["similar_residual_gap"]
    for subject in result.figures:
        judged = [
            c.value
            for c in result.of(subject)
            if c.status != CANNOT_JUDGE and c.name.startswith("similar_rate_ratio")
        ]
        if judged:
            summary[f"{subject}_lowest_rate_ratio"] = min(judged)
            summary[f"{subject}_highest_rate_ratio"] = max(judged)
        for status in (FAILED, CANNOT_JUDGE):
            summary[f"checks_{status}_{subject}"] = len(result.of(subject, status))
    return summary

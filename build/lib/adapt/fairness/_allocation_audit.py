"""The gender audit of an allocation of scarce places: at each waiting person's next decision,
women's and men's similar-situation rates of being given each intervention, and of waiting.

The checks are those of `audit_choices` on the recommender (one rate-ratio check per
intervention given often enough in shared situations, judged on one simultaneous band), with
"waits" as one more choice: scarcity should not fall on one gender. The allocation stands where
the recommender does in the audit's figures, checks and verdict.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.catalogue import Catalogue, load_catalogue
from adapt.fairness._gate import _judge, _ratio_candidates, _summary
from adapt.fairness._intersections import intersection_parity
from adapt.fairness._parity import GROUPS, parity_table, rate_means, situation_strata
from adapt.fairness._result import AuditResult
from adapt.fairness._thresholds import load_thresholds
from adapt.features import next_decision_points

WAITS = "waits"
SUBJECT = "recommender"  # the allocation, in the audit's vocabulary


def audit_allocation(
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    allocation: pd.DataFrame,
    thresholds: dict | None = None,
    catalogue: Catalogue | None = None,
    seed: int = 0,
) -> AuditResult:
    """Audit who was given which place, across gender.

    Parameters
    ----------
    persons, episodes : DataFrame
        The contract tables the allocation was made for.
    allocation : DataFrame
        ``person_id`` and ``intervention`` (missing or empty: waits), one row per person, as
        `adapt allocate` writes it.
    """
    thresholds = thresholds or load_thresholds()
    catalogue = catalogue or load_catalogue()
    points = next_decision_points(persons, episodes, catalogue)
    features = points.features
    chosen = _given(persons, allocation, catalogue)
    codes = [*catalogue.intervention_codes, WAITS]
    strata = situation_strata(features)
    gender = features["gender"].astype(object).to_numpy()
    person = persons["person_id"].to_numpy()
    settings = {"n_bootstrap": thresholds["n_bootstrap"], "seed": seed}
    level = thresholds["level"]
    counts = {g: int((gender == g).sum()) for g in (*GROUPS, "unknown")}
    result = AuditResult(
        n_decision_points=len(persons),
        groups=counts,
        persons=counts,
        thresholds=thresholds,
        compared=min(counts[g] for g in GROUPS) >= thresholds["min_group_size"],
        audited="allocation",
    )
    if not result.compared:
        return result
    means = rate_means(chosen, gender, strata, person, codes, **settings)
    table = parity_table(means, chosen, gender, strata, codes, level)
    result.figures[SUBJECT] = table.replace({np.nan: None}).to_dict("records")
    candidates = _ratio_candidates(SUBJECT, table, means, thresholds)
    result.intersections = intersection_parity(
        {SUBJECT: chosen},
        gender,
        strata,
        person,
        features,
        codes,
        min_group_size=thresholds["min_group_size"],
        min_recommended=thresholds["min_recommended"],
        level=level,
        **settings,
    )
    result.checks = _judge(candidates, level)
    result.summary = _summary(result)
    return result


def _given(persons: pd.DataFrame, allocation: pd.DataFrame, catalogue: Catalogue) -> np.ndarray:
    """Each person's intervention (or `WAITS`), checked: every person once, offered codes."""
    missing = [c for c in ("person_id", "intervention") if c not in allocation]
    if missing:
        raise ValueError(f"allocation lacks the column(s) {missing}")
    ids = allocation["person_id"].astype(str)
    duplicated = ids.duplicated(keep=False)
    if duplicated.any():
        rows = np.flatnonzero(duplicated.to_numpy())[:5].tolist()
        raise ValueError(f"allocation: person_id repeated at rows {rows}")
    given = pd.Series(allocation["intervention"].to_numpy(), index=ids)
    unknown = ~persons["person_id"].isin(given.index)
    if unknown.any():
        first = persons.loc[unknown, "person_id"].head(3).tolist()
        raise ValueError(f"allocation: {int(unknown.sum())} person(s) have no row, e.g. {first}")
    extra = ~given.index.isin(persons["person_id"])
    if extra.any():
        raise ValueError(
            f"allocation: {int(extra.sum())} row(s) name persons the data lack, e.g. "
            f"{given.index[extra][:3].tolist()}"
        )
    chosen = given.reindex(persons["person_id"]).astype(object)
    waits = chosen.isna() | (chosen == "")
    chosen = chosen.where(~waits, WAITS).to_numpy()
    region = pd.Index(catalogue.region_codes).get_indexer(persons["region"])
    arm = pd.Index(catalogue.intervention_codes).get_indexer(chosen)
    bad = (arm < 0) & ~waits.to_numpy()
    if bad.any():
        names = sorted({str(c) for c in chosen[bad]})[:5]
        raise ValueError(f"allocation.intervention: codes the catalogue lacks: {names}")
    placed = arm >= 0
    offered = np.ones(len(arm), bool)
    offered[placed] = catalogue.availability_matrix()[region[placed], arm[placed]]
    if not offered.all():
        first = persons.loc[~offered, "person_id"].head(3).tolist()
        raise ValueError(
            f"allocation.intervention: {int((~offered).sum())} place(s) of interventions the "
            f"person's region does not offer, e.g. persons {first}"
        )
    return chosen

"""Rate parity between women and men within age bands and by country of birth.

Reported, not judged: dozens of comparisons on small groups would raise alarms by chance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from adapt.fairness._parity import rate_parity

AGE_BANDS = (0, 30, 50, np.inf)
AGE_LABELS = ("under 30", "30-49", "50 or older")


def intersection_groups(features: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per attribute, the level of each decision point (``unknown`` where the value is missing)."""
    age = pd.cut(features["age"], AGE_BANDS, right=False, labels=list(AGE_LABELS))
    abroad = features["born_abroad"].map({1: "born abroad", 0: "born in Sweden"})
    return {
        "age_band": age.astype(object).fillna("unknown").to_numpy(),
        "born_abroad": abroad.astype(object).fillna("unknown").to_numpy(),
    }


def intersection_parity(
    choices: dict[str, np.ndarray],
    gender: np.ndarray,
    strata: np.ndarray,
    person: np.ndarray,
    features: pd.DataFrame,
    interventions: list[str],
    *,
    min_group_size: int,
    min_recommended: int,
    n_bootstrap: int,
    level: float,
    seed: int,
) -> list[dict]:
    """Per subject, attribute and level: the women-to-men ratio of each intervention's rate in a
    similar situation. A level where women or men number fewer than `min_group_size` persons is
    flagged (``compared`` false) and not compared."""
    records = []
    for attribute, levels in intersection_groups(features).items():
        for value in sorted(set(levels)):
            member = levels == value
            persons = {
                g: int(pd.unique(person[member & (gender == g)]).size) for g in ("woman", "man")
            }
            base = {
                "attribute": attribute,
                "level": value,
                **{f"persons_{g}": n for g, n in persons.items()},
            }
            if min(persons.values()) < min_group_size:
                records.append({**base, "compared": False})
                continue
            for subject, chosen in choices.items():
                table = rate_parity(
                    chosen[member],
                    gender[member],
                    strata[member],
                    person[member],
                    interventions,
                    n_bootstrap=n_bootstrap,
                    level=level,
                    seed=seed,
                )
                counts = pd.Series(chosen[member]).value_counts()
                for row in table.itertuples(index=False):
                    n = int(counts.get(row.intervention, 0))
                    if n < min_recommended or not np.isfinite(row.similar_ratio):
                        continue
                    records.append(
                        {
                            **base,
                            "compared": True,
                            "subject": subject,
                            "intervention": row.intervention,
                            "n_recommended": n,
                            "similar_ratio": float(row.similar_ratio),
                            "similar_ratio_lower": float(row.similar_ratio_lower),
                            "similar_ratio_upper": float(row.similar_ratio_upper),
                        }
                    )
    return records

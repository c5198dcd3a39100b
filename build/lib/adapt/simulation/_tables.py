"""Turn a simulated slice into the contract's tables (Arrow, for speed; pandas on request)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adapt.simulation._dynamics import EXIT_REASONS
from adapt.simulation._engine import Simulated
from adapt.simulation._population import GENDERS
from adapt.simulation._world import World

PERSON_ID_PREFIX = "P"
PERSON_ID_DIGITS = 8


def person_ids(index: np.ndarray) -> pa.Array:
    """Global person index 0, 1, ... as ids 'P00000001', 'P00000002', ..."""
    digits = pc.cast(pa.array(np.asarray(index, dtype=np.int64) + 1), pa.string())
    padded = pc.utf8_lpad(digits, PERSON_ID_DIGITS, "0")
    return pc.binary_join_element_wise(PERSON_ID_PREFIX, padded, "")


def person_index(ids) -> np.ndarray:
    """Inverse of `person_ids` for ids the simulator wrote."""
    text = pc.utf8_slice_codeunits(pa.array(ids, type=pa.string()), len(PERSON_ID_PREFIX))
    return np.asarray(pc.cast(text, pa.int64())) - 1


def _labels(codes: np.ndarray, levels) -> pa.Array:
    dictionary = pa.array(list(levels), type=pa.string())
    return pc.take(dictionary, pa.array(np.asarray(codes, dtype=np.int32)))


def to_arrow(world: World, sim: Simulated) -> dict[str, pa.Table]:
    """The persons, episodes and (if recorded) truth tables of a simulated slice."""
    pop, pp = sim.population, world.params["population"]
    ids = person_ids(pop.index)
    exit_day = pa.array(sim.exit_day, mask=sim.exit_day < 0, type=pa.int64())
    persons = pa.table(
        {
            "person_id": ids,
            "gender": _labels(pop.gender, GENDERS),
            "age": pa.array(pop.age, pa.int64()),
            "region": _labels(pop.region, world.regions),
            "years_on_support": pa.array(pop.years_on_support, pa.float64()),
            "income_source": _labels(pop.income, pp["income_levels"]),
            "referral_source": _labels(pop.referral, pp["referral_levels"]),
            "education": _labels(pop.education, pp["education_levels"]),
            "born_abroad": pa.array(pop.born_abroad, pa.bool_()),
            "swedish_level": _labels(pop.swedish, pp["swedish_levels"]),
            "mental_ill_health": pa.array(pop.mental_ill_health, pa.bool_()),
            "violence_exposure": pa.array(pop.violence_exposure, pa.bool_()),
            "exit_day": exit_day,
            "exit_reason": _labels(sim.exit_reason, EXIT_REASONS),
        }
    )
    tables = {"persons": persons, "episodes": _episode_table(world, ids, sim.episodes)}
    if sim.truth is not None:
        t = sim.truth
        order = np.lexsort((t["intervention"], t["episode_no"], t["row"]))
        tables["truth"] = pa.table(
            {
                "person_id": pc.take(ids, pa.array(t["row"][order])),
                "episode_no": pa.array(t["episode_no"][order].astype(np.int64)),
                "intervention": _labels(t["intervention"][order], world.interventions),
                "p_progress": pa.array(t["p_progress"][order].astype(np.float64)),
            }
        )
    return tables


def _episode_table(world: World, ids: pa.Array, e: dict[str, np.ndarray]) -> pa.Table:
    order = np.lexsort((e["episode_no"], e["row"]))
    return pa.table(
        {
            "person_id": pc.take(ids, pa.array(e["row"][order])),
            "episode_no": pa.array(e["episode_no"][order].astype(np.int64)),
            "intervention": _labels(e["intervention"][order], world.interventions),
            "start_day": pa.array(e["start"][order].astype(np.int64)),
            "end_day": pa.array(e["end"][order].astype(np.int64)),
            "hours": pa.array(e["hours"][order].astype(np.float64)),
            "step_before": pa.array(e["step_before"][order].astype(np.int64)),
            "step_after": pa.array(e["step_after"][order].astype(np.int64)),
        }
    )


def to_pandas(tables: dict[str, pa.Table]) -> dict:
    return {name: table.to_pandas() for name, table in tables.items()}

"""Allocating scarce places against the truth (issue [L]).

    .venv/bin/python benchmarks/bench_allocate.py                        # 4 worlds, 9,000 persons
    .venv/bin/python benchmarks/bench_allocate.py --n-persons 30000 --worlds default

For every world: simulate `--n-persons`, split 70/30 by person, fit the default learner (S,
default settings, as `adapt train` does) on the training persons. Each test person stands just
before one of their recorded episodes (`Oracle.start_states`); the caseworkers' allocation is
what that episode was. The places of each (region, intervention) are the caseworkers' count
times the scarcity (50 %, 100 %, 150 %, rounded). Allocations:

- caseworkers: their recorded choice, served first come (the order persons became free) while
  places last (at 100 % and 150 % everyone keeps it);
- first come by the estimates: persons in that order, each taking the best place left;
- allocate: `adapt.planning.allocate` (the best allocation by the estimates, exact);
- best: the best allocation by the true probabilities (the simulator's).

Value per person: the true expected progressions of the places given, per waiting person; and
the same by the project's estimates. Closure = (allocate - caseworkers) / (best - caseworkers).
Duals: each cell's estimated value of one more place against the true marginal value (the best
true allocation with that one place more, minus without), with the interval's coverage.

Results: benchmarks/results/allocate.md (tables), allocate.png and allocate.jsonl.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from bench_plan_speed import world_and_data  # noqa: E402
from bench_trust import markdown  # noqa: E402

RESULTS = Path(__file__).parent / "results"
WORLDS = ("default", "order_pairs", "x_confounded", "rare_unequal")
SCARCITIES = (0.5, 1.0, 1.5)


def fitted_world(name: str, n_persons: int, seed: int, learner: str = "s"):
    """The world, a learner fitted on 70 % of its persons, and the episodes of those (train)
    and the other persons with theirs (test)."""
    from adapt.features import decision_points
    from adapt.models import make_learner

    world, data = world_and_data(name, n_persons, seed)
    persons, episodes = data["persons"], data["episodes"]
    ids = np.random.default_rng(seed).permutation(persons["person_id"].to_numpy())
    train_ids = set(ids[: round(0.7 * len(ids))])
    is_train = persons["person_id"].isin(train_ids)
    in_train = episodes["person_id"].isin(train_ids)
    model = make_learner(learner, random_state=seed)
    points = decision_points(persons[is_train], episodes[in_train], history=model.history)
    model.fit(points.features, points.treatment, points.outcome, points.keys["person_id"])
    return world, model, episodes[in_train], persons[~is_train], episodes[~in_train]


def one_world(name: str, args) -> tuple[list[dict], list[dict]]:
    from adapt.allocation import WAITS, best_allocation, check_places, first_come
    from adapt.planning import allocate
    from adapt.simulation import Oracle

    seed = args.seed
    world, model, train_e, test_p, test_e = fitted_world(name, args.n_persons, seed, args.learner)
    oracle = Oracle(world, seed=seed)
    start = oracle.start_states(test_p, test_e, seed=seed)
    order = np.argsort(start.persons["person_id"].to_numpy(), kind="stable")
    start = start.take(order)  # allocate sorts by person_id: the same rows everywhere
    catalogue = model.catalogue_
    arms = list(model.interventions_)
    # they wait for their next intervention: still in the programme
    waiting = start.persons.assign(exit_day=pd.array([pd.NA] * len(start), "Int64"))
    waiting["exit_reason"] = "ongoing"
    free = start.history.groupby("person_id")["end_day"].max()
    free = free.reindex(start.persons["person_id"]).fillna(0).to_numpy()
    arrival = np.lexsort((start.persons["person_id"].to_numpy(), free))
    chosen = (
        pd.DataFrame({"person_id": start.persons["person_id"], "episode_no": start.episode_no})
        .merge(test_e[["person_id", "episode_no", "intervention"]], how="left")["intervention"]
        .to_numpy()
    )
    truth = oracle.progress_probabilities(start)[arms].to_numpy()
    region = pd.Index(catalogue.region_codes).get_indexer(start.persons["region"])
    caseworker_arm = pd.Index(arms).get_indexer(chosen)
    rows, duals = [], []
    for scarcity in args.scarcities:
        used = (
            pd.DataFrame({"region": start.persons["region"].astype(str), "intervention": chosen})
            .value_counts()
            .rename("places")
            .reset_index()
        )
        used["places"] = np.round(used["places"] * scarcity).astype(int).astype(str)
        places = check_places(used, catalogue)
        cells = np.zeros((len(catalogue.region_codes), len(arms)), np.int64)
        at = pd.Index(arms).get_indexer(places["intervention"])
        known = at >= 0
        cells[pd.Index(catalogue.region_codes).get_indexer(places["region"][known]), at[known]] = (
            places["places"].to_numpy()[known]
        )
        began = time.perf_counter()
        result = allocate(model, waiting, start.history, places)
        seconds = time.perf_counter() - began
        estimate = _estimates(model, start)
        ours = pd.Index(arms).get_indexer(result.persons["intervention"].fillna(""))
        own_values = np.where(np.arange(len(arms))[None, :] == caseworker_arm[:, None], 1.0, np.nan)
        allocations = {
            "caseworkers": first_come(own_values, region, cells, arrival),
            "first_come": first_come(estimate, region, cells, arrival),
            "allocate": np.where(ours >= 0, ours, WAITS),
            "best": best_allocation(truth, region, cells).assignment,
        }
        values = {
            method: (_value(truth, a), _value(estimate, a)) for method, a in allocations.items()
        }
        gap = values["best"][0] - values["caseworkers"][0]
        for method, assignment in allocations.items():
            over = _overfilled(assignment, region, cells)
            rows.append(
                {
                    "world": name,
                    "persons": args.n_persons,
                    "learner": args.learner,
                    "scarcity": scarcity,
                    "method": method,
                    "true_value": values[method][0],
                    "estimated_value": values[method][1],
                    "closure": (values[method][0] - values["caseworkers"][0]) / gap,
                    "placed": float(np.mean(assignment != WAITS)),
                    "overfilled_cells": over,
                    "seconds": seconds if method == "allocate" else np.nan,
                }
            )
        codes = list(catalogue.region_codes)
        duals += _dual_errors(name, scarcity, result.cells, truth, region, cells, arms, codes)
        print(
            f"  {name} x{scarcity}: "
            + ", ".join(f"{m} {v[0]:.4f}" for m, v in values.items())
            + f"; closure {rows[-2]['closure']:.3f}",
            flush=True,
        )
    return rows, duals


def _estimates(model, start) -> np.ndarray:
    from adapt.features import next_decision_points_for

    points = next_decision_points_for(model, start.persons, start.history)
    return model.estimate(model.encode(points.features))


def _value(values: np.ndarray, assignment: np.ndarray) -> float:
    given = assignment >= 0
    return float(values[np.flatnonzero(given), assignment[given]].sum() / len(assignment))


def _overfilled(assignment, region, cells) -> int:
    filled = np.zeros(cells.shape, np.int64)
    given = assignment >= 0
    np.add.at(filled, (region[given], assignment[given]), 1)
    return int((filled > cells).sum())


def _dual_errors(name, scarcity, cells_table, truth, region, cells, arms, codes) -> list[dict]:
    """Per cell: the estimated value of one more place, its interval, and the true marginal
    value (the best true allocation with one more place there, minus without)."""
    from adapt.allocation import best_allocation

    out, base = [], {}
    for row in cells_table.itertuples():
        r, a = codes.index(row.region), arms.index(row.intervention)
        persons = np.flatnonzero(region == r)
        if len(persons) == 0:
            continue
        alone = np.zeros(len(persons), int)
        if r not in base:
            base[r] = best_allocation(truth[persons], alone, cells[[r]]).value
        more = cells[[r]].copy()
        more[0, a] += 1
        out.append(
            {
                "world": name,
                "scarcity": scarcity,
                "region": row.region,
                "intervention": row.intervention,
                "estimated": row.value_of_place,
                "lower": row.value_of_place_lower,
                "upper": row.value_of_place_upper,
                "true": best_allocation(truth[persons], alone, more).value - base[r],
            }
        )
    return out


def plot(table: pd.DataFrame, path: Path) -> None:
    from matplotlib.figure import Figure

    worlds = list(dict.fromkeys(table["world"]))
    fig = Figure(figsize=(3.2 * len(worlds), 3.6), layout="tight")
    axes = fig.subplots(1, len(worlds), squeeze=False)[0]
    methods = ["caseworkers", "first_come", "allocate", "best"]
    for axis, world in zip(axes, worlds, strict=True):
        part = table[table["world"] == world]
        scarcities = sorted(part["scarcity"].unique())
        width = 0.8 / len(methods)
        for i, method in enumerate(methods):
            heights = [
                part[(part["scarcity"] == s) & (part["method"] == method)]["true_value"].iloc[0]
                for s in scarcities
            ]
            axis.bar(np.arange(len(scarcities)) + i * width, heights, width, label=method)
        axis.set_xticks(np.arange(len(scarcities)) + 0.4 - width / 2)
        axis.set_xticklabels([f"{s:.0%}" for s in scarcities])
        axis.set_title(world, fontsize=9)
        axis.set_xlabel("places / caseworkers' volume", fontsize=8)
    axes[0].set_ylabel("true expected progressions per person")
    axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", nargs="+", default=list(WORLDS))
    parser.add_argument("--n-persons", type=int, default=9_000)
    parser.add_argument("--scarcities", type=float, nargs="+", default=list(SCARCITIES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--learner", default="s", help="the learner whose estimates allocate")
    parser.add_argument("--out", type=Path, default=RESULTS / "allocate.md")
    args = parser.parse_args()
    began = time.perf_counter()
    rows, duals = [], []
    for name in args.worlds:
        print(f"{name}:", flush=True)
        r, d = one_world(name, args)
        rows += r
        duals += d
    table, dual = pd.DataFrame(rows), pd.DataFrame(duals)
    table.to_json(args.out.with_suffix(".jsonl"), orient="records", lines=True)
    plot(table, args.out.with_suffix(".png"))
    wide = table.pivot_table(
        index=["world", "scarcity"], columns="method", values="true_value", sort=False
    )[["caseworkers", "first_come", "allocate", "best"]]
    estimated = table.pivot_table(
        index=["world", "scarcity"], columns="method", values="estimated_value", sort=False
    )
    ours = table[table["method"] == "allocate"].set_index(["world", "scarcity"])
    wide["closure"] = ours["closure"]
    wide["beats_caseworkers_by_estimates"] = estimated["allocate"] > estimated["caseworkers"]
    wide["beats_first_come_by_estimates"] = estimated["allocate"] >= estimated["first_come"]
    wide["overfilled_cells"] = ours["overfilled_cells"]
    wide["seconds"] = ours["seconds"]
    shown = wide.reset_index()
    for column in ("caseworkers", "first_come", "allocate", "best"):
        shown[column] = shown[column].map("{:.4f}".format)
    shown["closure"] = shown["closure"].map("{:.3f}".format)
    shown["seconds"] = shown["seconds"].map("{:.1f}".format)
    shown["scarcity"] = shown["scarcity"].map("{:.0%}".format)
    dual["error"] = dual["estimated"] - dual["true"]
    dual["covered"] = (dual["lower"] <= dual["true"]) & (dual["true"] <= dual["upper"])
    dual_summary = (
        dual.groupby(["world", "scarcity"])
        .agg(
            cells=("error", "size"),
            mean_true=("true", "mean"),
            mean_estimated=("estimated", "mean"),
            mean_abs_error=("error", lambda e: e.abs().mean()),
            bias=("error", "mean"),
            coverage=("covered", "mean"),
        )
        .reset_index()
    )
    dual_summary["scarcity"] = dual_summary["scarcity"].map("{:.0%}".format)
    for column in ("mean_true", "mean_estimated", "mean_abs_error", "bias", "coverage"):
        dual_summary[column] = dual_summary[column].map("{:.3f}".format)
    lines = [
        "# Allocating scarce places (`benchmarks/bench_allocate.py`)",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} cores; learner {args.learner} "
        "(default settings), "
        f"{args.n_persons:,} persons per world (70 % to fit, the rest wait), seed {args.seed}; "
        f"whole run {time.perf_counter() - began:.0f} s.",
        "",
        "## True expected progressions per waiting person",
        "",
        "Places = the caseworkers' count per (region, intervention) x scarcity. `closure`: "
        "(allocate - caseworkers) / (best - caseworkers), by the truth. `beats_*`: by the "
        "project's own estimates. `seconds`: `allocate` (estimates, 6 exact solutions).",
        "",
        markdown(shown),
        "",
        "![value per person by method](allocate.png)",
        "",
        "## Value of one more place: estimate against the true marginal value",
        "",
        "Per cell, the dual price by the estimates against the true gain of one more place in "
        "the best true allocation; `coverage`: the share of cells whose interval holds it.",
        "",
        markdown(dual_summary),
        "",
    ]
    args.out.write_text("\n".join(lines), "utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Planned demand against the truth: `adapt.planning.demand` beside the same plans followed in
the simulated world (issue [L]).

    .venv/bin/python benchmarks/bench_demand.py                        # 4 worlds, 9,000 persons
    .venv/bin/python benchmarks/bench_demand.py --n-persons 3000 --worlds default

For every world: simulate `--n-persons`, split 70/30 by person, fit the default learner (S,
default settings, as `adapt train` does) and the step transitions on the training persons. Each
test person stands just before one of their recorded episodes (`Oracle.start_states`) and waits
for their next intervention: they are given to `demand` as "ongoing" with the episodes before
the start (12 months, re-planning with k = 3).

Truth: the same policy (re-plan with `Planner.search`, k = 3, after every episode and take the
first intervention) followed in the simulated world with `closed_loop`, `--truth-seeds` times
with fresh draws. A start counts when it lies within 12 x 30.44 days of the person's first
simulated start and the person stands below the top step (where `demand` stops). The mean over
the draws is the true expected number of starts per (region, intervention). The caseworkers'
own policy (`closed_loop(..., "behaviour")`) counted the same way tells how far `today_starts`
is from what today's practice would really give these persons.

Per world: total planned and true starts; per cell the mean absolute and relative error, the
correlation across cells, the coverage of `demand`'s interval (it spreads only over the
outcome draws and half-sample models, not over the simulator's durations and gaps); and the
marks ("need more" / "superfluous") against the truth's own marks (the plans' true starts minus
the caseworkers' true starts, +/- 2 standard errors over the draws, above / below 0); and
`today_starts` (demand's rollout of the caseworkers' behaviour model) against the
caseworkers' true starts.

Results: benchmarks/results/demand.md (tables), demand.png and demand.jsonl (one row per cell).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from bench_allocate import fitted_world  # noqa: E402
from bench_trust import markdown  # noqa: E402

RESULTS = Path(__file__).parent / "results"
WORLDS = ("default", "order_pairs", "x_confounded", "rare_unequal")
MONTHS, K = 12, 3
DAYS_PER_MONTH = 30.44  # as adapt.planning._demand


def one_world(name: str, args) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Per-cell rows, the world's run facts, and planned / true starts per month."""
    from adapt.planning import Planner, StepTransitions, demand
    from adapt.simulation import Oracle
    from adapt.simulation._closed_loop import closed_loop

    seed = args.seed
    world, model, train_e, test_p, test_e = fitted_world(name, args.n_persons, seed)
    catalogue = model.catalogue_
    transitions = StepTransitions.fit(train_e, catalogue)
    oracle = Oracle(world, seed=seed)
    start = oracle.start_states(test_p, test_e, seed=seed)
    # they wait for their next intervention: still in the programme
    waiting = start.persons.assign(exit_day=pd.array([pd.NA] * len(start), "Int64"))
    waiting["exit_reason"] = "ongoing"

    began = time.perf_counter()
    planned = demand(model, waiting, start.history, transitions, months=MONTHS, k=K, seed=seed)
    demand_seconds = time.perf_counter() - began
    print(
        f"  demand: {planned.persons:,} persons, {planned.rollouts} rollouts, "
        f"{demand_seconds:.0f} s",
        flush=True,
    )

    planner = Planner(model, transitions, k=K, search="screened")  # as demand plans

    def policy(batch) -> np.ndarray:
        return planner.search(batch.persons, batch.history, batch.step, k=K).interventions[:, 0]

    region_of = start.persons.set_index("person_id")["region"].astype(str)
    truth, behaviour, enrolled, truncated = [], [], [], []
    began = time.perf_counter()
    for s in range(args.truth_seeds):
        draw_seed = 1_000 + 100 * seed + s  # fresh draws, not the recorded ones
        _, simulated = closed_loop(oracle, start, policy, k=args.k_episodes, seed=draw_seed)
        counts, still, cut = _count(simulated, region_of, catalogue.max_step, transitions.gap_days)
        truth.append(counts)
        enrolled.append(still)
        truncated.append(cut)
        _, usual = closed_loop(oracle, start, "behaviour", k=args.k_episodes, seed=draw_seed)
        behaviour.append(_count(usual, region_of, catalogue.max_step, transitions.gap_days)[0])
        print(
            f"  truth draw {s + 1}/{args.truth_seeds}: {counts['starts'].sum():,.0f} starts, "
            f"{cut:.1%} persons not covered by {args.k_episodes} episodes",
            flush=True,
        )
    truth_seconds = time.perf_counter() - began

    cells = planned.totals.assign(region=lambda t: t["region"].astype(str))
    keys = ["region", "intervention"]
    true = _mean_over_draws(truth, keys, cells[keys])
    usual = _mean_over_draws(behaviour, keys, cells[keys])
    cells["true_starts"] = true["mean"].to_numpy()
    cells["true_se"] = true["se"].to_numpy()
    cells["behaviour_starts"] = usual["mean"].to_numpy()
    cells["behaviour_se"] = usual["se"].to_numpy()
    cells.insert(0, "world", name)
    months = (
        pd.DataFrame({"planned": planned.table.groupby("month")["expected_starts"].sum()})
        .join(
            _mean_over_draws(truth, ["month"], pd.DataFrame({"month": range(1, MONTHS + 1)}))
            .set_index("month")["mean"]
            .rename("true")
        )
        .reset_index()
        .assign(world=name)
    )
    facts = {
        "world": name,
        "persons": planned.persons,
        "rollouts": planned.rollouts,
        "n_bags": model.n_bags,
        "demand_seconds": demand_seconds,
        "truth_seconds": truth_seconds,
        "not_covered": float(np.mean(truncated)),
        # person-months below the top step per person, over the 12 months
        "enrolled_planned": planned.enrolled["persons"].sum() / planned.persons,
        "enrolled_true": float(np.mean(enrolled, axis=0).sum()) / planned.persons,
        "planned_days": float(np.mean([transitions.days[c] for c in model.interventions_])),
        "gap_days": float(transitions.gap_days),
    }
    return cells, facts, months


def _count(simulated: pd.DataFrame, region_of: pd.Series, top: int, gap: float):
    """Starts per (region, intervention) and month within the months after each person's first
    simulated start, below the top step; the persons still below the top step at the start of
    each month (as `Demand.enrolled`); and the share of persons whose simulated episodes ran
    out before the months did (their next start, a median gap after the last end, would still
    have fallen inside, below the top step)."""
    first = simulated.groupby("person_id")["start_day"].transform("min")
    month = np.floor((simulated["start_day"] - first) / DAYS_PER_MONTH).astype(int)
    kept = simulated[(month < MONTHS) & (simulated["step_before"] < top)]
    counts = (
        kept.assign(region=kept["person_id"].map(region_of), month=month[kept.index] + 1)
        .groupby(["region", "intervention", "month"])
        .size()
        .rename("starts")
        .reset_index()
    )
    at_top = simulated[simulated["step_after"] >= top]
    first_of = simulated.groupby("person_id")["start_day"].min()
    top_end = at_top.groupby("person_id")["end_day"].min()
    leave = (top_end - first_of).reindex(first_of.index).fillna(np.inf)  # days after the first
    month_start = DAYS_PER_MONTH * np.arange(MONTHS)
    enrolled = (leave.to_numpy()[:, None] > month_start[None, :]).sum(axis=0).astype(float)
    last = simulated.sort_values(["person_id", "episode_no"]).groupby("person_id").tail(1)
    open_ended = (last["step_after"] < top) & (
        last["end_day"] + gap - first[last.index] < MONTHS * DAYS_PER_MONTH
    )
    return counts, enrolled, float(open_ended.mean())


def _mean_over_draws(draws: list[pd.DataFrame], keys: list[str], index: pd.DataFrame):
    """Mean and standard error over the draws of the starts summed by `keys`, on `index`'s
    rows (zero where a draw has none)."""
    wide = np.column_stack(
        [
            index.merge(d.groupby(keys, as_index=False)["starts"].sum(), how="left")["starts"]
            .fillna(0.0)
            .to_numpy()
            for d in draws
        ]
    )
    se = wide.std(axis=1, ddof=1) / np.sqrt(wide.shape[1]) if wide.shape[1] > 1 else np.nan
    return index.assign(mean=wide.mean(axis=1), se=se)


def summarise(cells: pd.DataFrame) -> pd.DataFrame:
    """One row per world: totals, per-cell errors, correlation, coverage and marks."""
    from scipy import stats

    rows = []
    for world, part in cells.groupby("world", sort=False):
        part = part[np.isfinite(part["expected_starts"])]
        error = part["expected_starts"] - part["true_starts"]
        covered = (part["lower"] <= part["true_starts"]) & (part["true_starts"] <= part["upper"])
        truth_mark = _truth_marks(part)
        need, superfluous = part["mark"] == "need more", part["mark"] == "superfluous"
        marked = truth_mark != ""
        rows.append(
            {
                "world": world,
                "cells": len(part),
                "planned": part["expected_starts"].sum(),
                "true": part["true_starts"].sum(),
                "today": part["today_starts"].sum(),
                "behaviour": part["behaviour_starts"].sum(),
                "mae": error.abs().mean(),
                "rel_error": error.abs().sum() / part["true_starts"].sum(),
                "bias": error.mean(),
                "pearson": stats.pearsonr(part["expected_starts"], part["true_starts"])[0],
                "spearman": stats.spearmanr(part["expected_starts"], part["true_starts"])[0],
                "coverage": covered.mean(),
                "today_rel_error": (part["today_starts"] - part["behaviour_starts"]).abs().sum()
                / part["behaviour_starts"].sum(),
                "today_coverage": (
                    (part["today_lower"] <= part["behaviour_starts"])
                    & (part["behaviour_starts"] <= part["today_upper"])
                ).mean(),
                "need_more": int(need.sum()),
                "need_more_right": (part["true_starts"] > part["behaviour_starts"])[need].mean(),
                "superfluous": int(superfluous.sum()),
                "superfluous_right": (part["true_starts"] < part["behaviour_starts"])[
                    superfluous
                ].mean(),
                "truth_marked": int(marked.sum()),
                "missed": int((part["mark"] != truth_mark)[marked].sum()),
                "false_marks": int(((part["mark"] != "") & (part["mark"] != truth_mark)).sum()),
            }
        )
    return pd.DataFrame(rows)


def _truth_marks(part: pd.DataFrame) -> np.ndarray:
    """The marks the truth gives: the plans' true starts minus the caseworkers' true starts,
    +/- 2 standard errors over the draws, wholly above ("need more") or below 0."""
    difference = part["true_starts"] - part["behaviour_starts"]
    se = np.sqrt(part["true_se"] ** 2 + part["behaviour_se"] ** 2)
    return np.select(
        [difference - 2 * se > 0, difference + 2 * se < 0], ["need more", "superfluous"], ""
    )


def shown(frame: pd.DataFrame) -> str:
    """`markdown`, with whole-number columns written as whole numbers."""
    whole = [c for c in frame if pd.api.types.is_integer_dtype(frame[c])]
    return markdown(frame.astype({c: str for c in whole}))


def by_intervention(cells: pd.DataFrame) -> pd.DataFrame:
    """Planned, true and today's starts per (world, intervention), summed over the regions."""
    sums = (
        cells.groupby(["world", "intervention"], sort=False)[
            ["expected_starts", "true_starts", "today_starts", "behaviour_starts"]
        ]
        .sum()
        .reset_index()
    )
    sums = sums[(sums["expected_starts"] > 0) | (sums["true_starts"] > 0)]
    sums["planned/true"] = sums["expected_starts"] / sums["true_starts"]
    return sums.sort_values(["world", "true_starts"], ascending=[True, False], kind="stable")


def plot(cells: pd.DataFrame, path: Path) -> None:
    from matplotlib.figure import Figure

    from adapt._figures import save_png

    fig = Figure(figsize=(5.2, 5.0), layout="tight")
    axis = fig.subplots()
    for world, part in cells.groupby("world", sort=False):
        axis.scatter(part["true_starts"], part["expected_starts"], s=14, alpha=0.7, label=world)
    high = float(np.nanmax(cells[["true_starts", "expected_starts"]].to_numpy())) * 1.05
    axis.plot([0, high], [0, high], color="grey", linewidth=0.8, label="y = x")
    axis.set_xlabel(f"true starts in {MONTHS} months (simulator, same policy)")
    axis.set_ylabel("planned expected starts (demand)")
    axis.set_title("starts per (region, intervention)", fontsize=10)
    axis.legend(fontsize=8)
    save_png(fig, path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", nargs="+", default=list(WORLDS))
    parser.add_argument("--n-persons", type=int, default=9_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--truth-seeds", type=int, default=5, help="closed-loop draws of truth")
    parser.add_argument("--k-episodes", type=int, default=8, help="episodes each truth draw runs")
    parser.add_argument("--out", type=Path, default=RESULTS / "demand.md")
    args = parser.parse_args()
    began = time.perf_counter()
    parts, facts, months = [], [], []
    for name in args.worlds:
        print(f"{name}:", flush=True)
        c, f, m = one_world(name, args)
        parts.append(c)
        facts.append(f)
        months.append(m)
    cells = pd.concat(parts, ignore_index=True)
    cells.to_json(args.out.with_suffix(".jsonl"), orient="records", lines=True)
    plot(cells, args.out.with_suffix(".png"))
    summary = summarise(cells)
    run = pd.DataFrame(facts)
    monthly = pd.concat(months, ignore_index=True)
    monthly["planned/true"] = monthly["planned"] / monthly["true"]
    ratio = monthly.pivot(index="world", columns="month", values="planned/true")
    ratio.columns = [f"m{m}" for m in ratio.columns]
    ratio = ratio.loc[list(dict.fromkeys(monthly["world"]))].reset_index()
    command = " ".join([".venv/bin/python", *sys.argv])
    lines = [
        "# Planned demand against the truth (`benchmarks/bench_demand.py`)",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} cores; {date.today().isoformat()}; "
        f"command: `{command}`.",
        "",
        f"S-learner (default settings), {args.n_persons:,} persons per world (70 % to fit, the "
        f"rest wait); `demand(months={MONTHS}, k={K})`; truth: the same re-planning policy in "
        f"the simulator, {args.truth_seeds} draws of {args.k_episodes} episodes; seed "
        f"{args.seed}; whole run {time.perf_counter() - began:.0f} s.",
        "",
        "## Starts over 12 months, per world",
        "",
        "`planned`, `true`, `today`: summed over the cells ((region, intervention) offered and "
        "seen by the model). `behaviour`: the caseworkers' own policy in the simulator, counted "
        "as the truth (what `today` stands for). `mae`, `bias`: per cell, planned - true; "
        "`rel_error`: sum |planned - true| / sum true. `coverage`: share of cells whose "
        "[lower, upper] holds the true mean; the interval spreads over the rollouts (outcomes, "
        "half-sample models, recorded lengths), not the planner's own errors. "
        "`today_rel_error`, `today_coverage`: `today` against `behaviour` the same way. "
        "`*_right`: among the cells so marked, the share where the plans' true starts lie on "
        "that side of the caseworkers' true starts. `truth_marked`: cells where that true "
        "difference +/- 2 SE excludes 0; `missed`: of those, the cells demand marks otherwise; "
        "`false_marks`: cells demand marks but the truth does not, or the other way.",
        "",
        shown(summary),
        "",
        "![planned against true starts per cell](demand.png)",
        "",
        "## Run",
        "",
        "`not_covered`: share of persons whose truth episodes ran out before the 12 months "
        "(their truth is cut short). `enrolled_*`: months below the top step per person "
        "(demand's `enrolled` and the truth's; lower = faster to the top). `planned_days`: "
        "mean over interventions of the transitions' median episode length that demand uses; "
        "`gap_days`: its gap.",
        "",
        shown(run),
        "",
        "## Planned / true starts by month",
        "",
        shown(ratio),
        "",
        "## Per intervention (summed over regions)",
        "",
        shown(by_intervention(cells)),
        "",
    ]
    args.out.write_text("\n".join(lines), "utf-8")
    print(shown(summary))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Planning speed against plan quality, and memory against population size (issue [K]).

    .venv/bin/python benchmarks/bench_plan_speed.py                       # 4 worlds, 30k persons
    .venv/bin/python benchmarks/bench_plan_speed.py --n-persons 3000 --starts 1000 --worlds default
    .venv/bin/python benchmarks/bench_plan_speed.py --memory-only         # adapt plan's peak RSS

Quality and speed: for every world, simulate `--n-persons`, split 70/30 by person, fit the
default learner (`--learner`, default settings, as `adapt train` does) on the training persons;
`--starts` test persons are planned from just before one of their recorded episodes
(`Oracle.start_states`). Each planner variant plans every start (k = 3, all at once, as
`adapt plan` does per chunk) and is timed; the true value V of its plans is exact
(`Oracle.plan_values`), the model's own value is what the planner reports. Plan-gain closure =
(V - V(caseworkers)) / (V(best plan) - V(caseworkers)), the best plan from the oracle's
exhaustive search. Variants: `exact` (the beam search with the full estimate and every branch:
the planner before [K]) and `screened` (the default) at beam widths 1, 2, 4 and 8.

The yardstick (issue [K]'s judge): a plain 400-tree LightGBM, fitted on the same training
decision points with the intervention as a feature, predicting every offered intervention three
times for every start (one matrix, all cores), in the same run.

Memory: `adapt plan --k 3` in a fresh process on 3,000 / 9,000 / 30,000 / 100,000 persons with
one trained model; the process's peak resident memory (`ru_maxrss`).

Results: benchmarks/results/plan_speed.md (tables) and plan_speed.png (closure against
persons/s, one line per world).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "10000")  # see bench_learners.py

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_trust import markdown  # noqa: E402

RESULTS = Path(__file__).parent / "results"
K = 3
VARIANTS = [("exact", 4), ("screened", 1), ("screened", 2), ("screened", 4), ("screened", 8)]
WORLDS = ("default", "order_pairs", "x_confounded", "rare_unequal")
MEMORY_SIZES = (3_000, 9_000, 30_000, 100_000)


def world_and_data(name: str, n_persons: int, seed: int):
    """The simulator's world (for the oracle) and its data; built worlds as in bench_auto."""
    from bench_auto import simulate_world

    from adapt.simulation import World

    if name == "x_confounded":
        world = World.from_preset(
            "unobserved_confounder", overrides={"knobs.unobserved_confounding": 1.0}
        )
    elif name == "rare_unequal":
        world = World.from_preset(
            "default", overrides={"knobs.confounding_strength": 2.5, "knobs.positivity": 0.01}
        )
    else:
        world = World.from_preset(name)
    return world, simulate_world(name, n_persons, seed)


def yardstick_seconds(model, train, start, seed: int) -> float:
    """A plain 400-tree LightGBM predicting every offered intervention 3 times per start."""
    import lightgbm as lgb

    from adapt.features import next_decision_points_for

    X = train.features
    codes = sorted(train.treatment.unique())
    arm = pd.Index(codes).get_indexer(train.treatment)
    numeric = X.assign(**{c: X[c].cat.codes for c in X.select_dtypes("category")})
    plain = lgb.LGBMClassifier(n_estimators=400, random_state=seed, verbose=-1)
    plain.fit(numeric.assign(arm=arm).to_numpy(float), train.outcome.to_numpy())
    points = next_decision_points_for(model, start.persons, start.history, start.step)
    rows = points.features[X.columns]
    rows = rows.assign(**{c: rows[c].cat.codes for c in rows.select_dtypes("category")})
    offered = model.catalogue_.availability_matrix()[
        pd.Index(model.catalogue_.region_codes).get_indexer(start.persons["region"])
    ]
    person, arms = np.nonzero(offered[:, : len(codes)])
    matrix = np.column_stack([rows.to_numpy(float)[person], arms])
    matrix = np.concatenate([matrix] * K)
    began = time.perf_counter()
    plain.booster_.predict(matrix)
    return time.perf_counter() - began


def one_world(name: str, args) -> pd.DataFrame:
    from adapt.evaluation import plan_gain_closure, repeatable_flags
    from adapt.features import decision_points
    from adapt.models import make_learner
    from adapt.planning import Planner, StepTransitions
    from adapt.simulation import Oracle

    seed = args.seed
    world, data = world_and_data(name, args.n_persons, seed)
    persons, episodes = data["persons"], data["episodes"]
    ids = np.random.default_rng(seed).permutation(persons["person_id"].to_numpy())
    train_ids = set(ids[: round(0.7 * len(ids))])
    is_train = persons["person_id"].isin(train_ids)
    test_p, test_e = persons[~is_train], episodes[~episodes["person_id"].isin(train_ids)]
    model = make_learner(args.learner, random_state=seed)
    points = decision_points(
        persons[is_train], episodes[episodes["person_id"].isin(train_ids)], history=model.history
    )
    began = time.perf_counter()
    model.fit(points.features, points.treatment, points.outcome, points.keys["person_id"])
    fit_s = time.perf_counter() - began
    transitions = StepTransitions.fit(episodes[episodes["person_id"].isin(train_ids)])
    oracle = Oracle(world, seed=seed)
    start = oracle.start_states(test_p, test_e, seed=seed)
    start = start.take(np.random.default_rng(seed).permutation(len(start))[: args.starts])
    behaviour = float(np.mean(oracle.closed_loop_values(start, "behaviour", K, seed=seed + 1)))
    repeatable = repeatable_flags(model.catalogue_)
    best = float(np.mean(oracle.best_plans(start, K, repeatable=repeatable)[1]))
    yard = yardstick_seconds(model, points, start, seed)
    rows = []
    for search, width in VARIANTS:
        planner = Planner(model, transitions, k=K, beam_width=width, search=search)
        warm = start.take(np.arange(min(50, len(start))))
        planner.search(warm.persons, warm.history, warm.step)
        began = time.perf_counter()
        plans = planner.search(start.persons, start.history, start.step)
        seconds = time.perf_counter() - began
        value = float(np.mean(oracle.plan_values(start, plans.interventions)))
        rows.append(
            {
                "world": name,
                "persons": args.n_persons,
                "search": search,
                "beam": width,
                "persons_per_s": len(start) / seconds,
                "x_yardstick": seconds / yard,
                "model_value": float(plans.value.mean()),
                "true_V": value,
                "closure": plan_gain_closure(value, behaviour, best),
            }
        )
        print(
            f"  {name}: {search} beam {width}: {rows[-1]['persons_per_s']:.0f}/s "
            f"({rows[-1]['x_yardstick']:.1f}x), closure {rows[-1]['closure']:.3f}",
            flush=True,
        )
    table = pd.DataFrame(rows)
    table.attrs.update(fit_s=fit_s, yardstick_s=yard, starts=len(start))
    return table


def memory_rows(args) -> pd.DataFrame:
    """Peak RSS of `adapt plan --k 3` on growing populations, one model."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = [str(Path(sys.executable).parent / "adapt")]
        subprocess.run(
            [*run, "generate", "--n-persons", "20000", "--seed", "3", "--out", str(tmp / "train")],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [*run, "train", "--data", str(tmp / "train"), "--out", str(tmp / "model")],
            check=True,
            capture_output=True,
        )
        for n in args.memory_sizes:
            data = tmp / f"plan{n}"
            subprocess.run(
                [*run, "generate", "--n-persons", str(n), "--seed", "4", "--out", str(data)],
                check=True,
                capture_output=True,
            )
            script = (
                "import resource, sys, time\n"
                "from adapt.cli import main\n"
                "began = time.perf_counter()\n"
                "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
                "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
                "time.perf_counter() - began, file=sys.stderr)\n"
            )
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    script,
                    "plan",
                    "--model",
                    str(tmp / "model"),
                    "--data",
                    str(data),
                    "--k",
                    "3",
                    "--out",
                    str(tmp / f"plans{n}.parquet"),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            peak_kb, seconds = done.stderr.strip().splitlines()[-1].split()
            rows.append(
                {
                    "persons": n,
                    "peak_mb": int(peak_kb) / 1024,
                    "seconds": float(seconds),
                    "persons_per_s": n / float(seconds),
                }
            )
            print(
                f"  memory: {n:,} persons: {rows[-1]['peak_mb']:.0f} MB, "
                f"{rows[-1]['seconds']:.1f} s",
                flush=True,
            )
    table = pd.DataFrame(rows)
    table["x_3000"] = table["peak_mb"] / table["peak_mb"].iloc[0]
    return table


def plot(tables: list[pd.DataFrame], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.5), layout="tight")
    axis = fig.subplots()
    for table in tables:
        screened = table[table["search"] == "screened"]
        line = axis.plot(
            screened["persons_per_s"],
            screened["closure"],
            marker="o",
            label=f"{table['world'].iloc[0]} (screened, beam 1-8)",
        )[0]
        exact = table[table["search"] == "exact"]
        axis.plot(
            exact["persons_per_s"],
            exact["closure"],
            marker="x",
            linestyle="none",
            color=line.get_color(),
            markersize=9,
        )
        for _, row in screened.iterrows():
            axis.annotate(
                str(row["beam"]),
                (row["persons_per_s"], row["closure"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    axis.set_xscale("log")
    axis.set_xlabel("persons planned per second (k = 3, 2 cores; x = the exact search)")
    axis.set_ylabel("plan-gain closure (truth)")
    axis.legend(fontsize=7)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", nargs="+", default=list(WORLDS))
    parser.add_argument("--n-persons", type=int, default=30_000)
    parser.add_argument("--starts", type=int, default=3_000)
    parser.add_argument("--learner", default="s")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-sizes", type=int, nargs="+", default=list(MEMORY_SIZES))
    parser.add_argument("--memory-only", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "plan_speed.md")
    args = parser.parse_args()

    lines = [
        "# Planning speed, plan quality and memory (`benchmarks/bench_plan_speed.py`)",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} cores; learner {args.learner} "
        f"(default settings); k = {K}; seed {args.seed}.",
        "",
    ]
    tables = []
    if not args.memory_only:
        for name in args.worlds:
            print(f"{name}:", flush=True)
            tables.append(one_world(name, args))
        quality = pd.concat(tables, ignore_index=True)
        shown = quality.assign(
            persons=quality["persons"].map("{:,}".format),
            beam=quality["beam"].astype(str),
            persons_per_s=quality["persons_per_s"].map("{:,.0f}".format),
            x_yardstick=quality["x_yardstick"].map("{:.1f}".format),
            model_value=quality["model_value"].map("{:.4f}".format),
            true_V=quality["true_V"].map("{:.4f}".format),
            closure=quality["closure"].map("{:.3f}".format),
        )
        facts = ", ".join(
            f"{t['world'].iloc[0]}: fit {t.attrs['fit_s']:.0f} s, yardstick "
            f"{t.attrs['yardstick_s']:.2f} s for {t.attrs['starts']:,} starts"
            for t in tables
        )
        lines += [
            "## Persons per second against closure",
            "",
            "`x_yardstick`: the planner's seconds over the plain 400-tree LightGBM predicting "
            "every offered intervention three times per start (same run). `model_value`: mean "
            "expected steps over the plan by the learner; `true_V`: by the simulator.",
            "",
            markdown(shown),
            "",
            facts + ".",
            "",
            "![closure against persons per second](plan_speed.png)",
            "",
        ]
        plot(tables, args.out.with_suffix(".png"))
        quality.to_json(args.out.with_suffix(".jsonl"), orient="records", lines=True)
    if not args.skip_memory:
        memory = memory_rows(args)
        shown = memory.assign(
            persons=memory["persons"].map("{:,}".format),
            peak_mb=memory["peak_mb"].map("{:.0f}".format),
            seconds=memory["seconds"].map("{:.1f}".format),
            persons_per_s=memory["persons_per_s"].map("{:,.0f}".format),
            x_3000=memory["x_3000"].map("{:.2f}".format),
        )
        lines += [
            "## Memory against population (`adapt plan --k 3`, chunks of 1,000 persons)",
            "",
            "Peak resident memory of the whole process (Python, libraries, model, tables); "
            "seconds include start-up, reading and writing.",
            "",
            markdown(shown),
            "",
        ]
    args.out.write_text("\n".join(lines), "utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

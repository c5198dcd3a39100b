"""Scaling out ([M]): time and peak memory per stage against population, local vs Dask.

    .venv/bin/python benchmarks/bench_scale.py                     # the full run (see below)
    .venv/bin/python benchmarks/bench_scale.py --sizes 10000 100000 --plan-sizes 10000

Every stage is the CLI as a user runs it (`adapt generate`, `adapt train`, `adapt recommend`,
`adapt plan`), once with ``--engine local`` (one process) and once with ``--engine dask
--workers 2`` (a LocalCluster of two processes). Peak memory is the largest sum of resident
memory over the command's process and all its children (the Dask scheduler and workers
included), sampled every 0.1 s. Generation runs at every size of `--sizes` and
`--generate-sizes`; training on the `--train-size` population; recommendations (every decision
point) at `--sizes`; plans (k = 3) at `--plan-sizes`. The data of both engines are compared
file by file (they must be identical), and so are the two trained models' recommendations.

Results: benchmarks/results/scale.md and scale.jsonl; the log-log plot docs/scale.png.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).parent))
from bench_trust import markdown  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ADAPT = Path(sys.executable).with_name("adapt")
ENGINES = {"local": ["--engine", "local"], "dask": ["--engine", "dask", "--workers", "2"]}


def measured(command: list[str]) -> dict:
    """Run `command`; its seconds and the peak resident memory of its process tree."""
    began = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(_rss(p) for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.1)
    seconds = time.perf_counter() - began
    out, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{err[-2000:]}")
    return {"seconds": seconds, "peak_mb": peak / 2**20}


def _rss(process) -> int:
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0


def same_tables(a: Path, b: Path, tables=("persons", "episodes", "truth")) -> bool:
    return all(pd.read_parquet(a / t).equals(pd.read_parquet(b / t)) for t in tables)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument(
        "--generate-sizes", type=int, nargs="*", default=[200_000, 2_000_000, 10_000_000]
    )
    parser.add_argument("--plan-sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--train-size", type=int, default=100_000)
    parser.add_argument("--compare-up-to", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/adapt-scale"))
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.md")
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    began = time.perf_counter()
    rows = []

    def record(stage, persons, engine, result, **extra):
        rows.append({"stage": stage, "persons": persons, "engine": engine, **result, **extra})
        print(
            f"{stage:9s} {persons:>10,} {engine:5s} {result['seconds']:8.1f} s "
            f"{result['peak_mb']:8.0f} MB {extra}",
            flush=True,
        )

    def data(n: int, engine: str) -> Path:
        return args.work / f"data_{n}_{engine}"

    generated = sorted(set(args.sizes) | set(args.generate_sizes) | {args.train_size})
    for n in generated:
        for engine, flags in ENGINES.items():
            command = [str(ADAPT), "generate", "--n-persons", str(n), "--seed", str(args.seed)]
            result = measured([*command, "--out", str(data(n, engine)), *flags])
            record("generate", n, engine, result)
        identical = (
            same_tables(data(n, "local"), data(n, "dask")) if n <= args.compare_up_to else None
        )
        rows[-1]["identical"] = rows[-2]["identical"] = identical
        print(f"  identical data: {identical}", flush=True)
        needed = n in args.sizes or n in args.plan_sizes or n == args.train_size
        if not needed:  # the largest worlds are only generated: free the disk
            for engine in ENGINES:
                shutil.rmtree(data(n, engine), ignore_errors=True)

    models = {}
    for engine, flags in ENGINES.items():
        models[engine] = args.work / f"model_{engine}"
        command = [str(ADAPT), "train", "--data", str(data(args.train_size, "local"))]
        record(
            "train",
            args.train_size,
            engine,
            measured([*command, "--out", str(models[engine]), *flags]),
        )

    predictions = {}
    for n in args.sizes:
        for engine, flags in ENGINES.items():
            out = args.work / f"rec_{n}_{engine}.parquet"
            command = [str(ADAPT), "recommend", "--model", str(models["local"])]
            command += ["--data", str(data(n, "local")), "--out", str(out)]
            record("recommend", n, engine, measured([*command, *flags]))
            predictions[engine] = pd.read_parquet(out)
        same = predictions["local"].equals(predictions["dask"])
        rows[-1]["identical"] = rows[-2]["identical"] = same
        for engine in ENGINES:
            (args.work / f"rec_{n}_{engine}.parquet").unlink()
    # the two trained models give the same recommendations
    n = min(args.sizes)
    outs = {}
    for engine in ENGINES:
        outs[engine] = args.work / f"model_check_{engine}.parquet"
        subprocess.run(
            [
                str(ADAPT),
                "recommend",
                "--model",
                str(models[engine]),
                "--data",
                str(data(n, "local")),
            ]
            + ["--out", str(outs[engine])],
            check=True,
            capture_output=True,
        )
    models_agree = pd.read_parquet(outs["local"]).equals(pd.read_parquet(outs["dask"]))
    print(f"models trained on both engines recommend the same: {models_agree}", flush=True)

    for n in args.plan_sizes:
        plans = {}
        for engine, flags in ENGINES.items():
            out = args.work / f"plan_{n}_{engine}.parquet"
            command = [str(ADAPT), "plan", "--model", str(models["local"]), "--k", "3"]
            command += ["--data", str(data(n, "local")), "--out", str(out)]
            record("plan", n, engine, measured([*command, *flags]))
            plans[engine] = pd.read_parquet(out)
        same = plans["local"].equals(plans["dask"])
        rows[-1]["identical"] = rows[-2]["identical"] = same

    table = pd.DataFrame(rows)
    table["us_per_person"] = 1e6 * table["seconds"] / table["persons"]
    table.to_json(args.out.with_suffix(".jsonl"), orient="records", lines=True)
    plot(table, ROOT / "docs" / "scale.png")
    write_markdown(table, args, models_agree, time.perf_counter() - began)
    print(f"wrote {args.out}")


def growth(table: pd.DataFrame) -> pd.DataFrame:
    """Per stage and engine: time per person at each size over that at the size 10x below."""
    out = []
    for (stage, engine), part in table.groupby(["stage", "engine"], sort=False):
        part = part.sort_values("persons")
        per = dict(zip(part["persons"], part["us_per_person"], strict=True))
        for n, value in per.items():
            if n // 10 in per:
                out.append(
                    {
                        "stage": stage,
                        "engine": engine,
                        "from": f"{n // 10:,}",
                        "to": f"{n:,}",
                        "time_per_person_growth": f"{value / per[n // 10]:.2f}",
                    }
                )
    return pd.DataFrame(out)


def write_markdown(table, args, models_agree, seconds) -> None:
    shown = table.copy()
    shown["persons"] = shown["persons"].map("{:,}".format)
    shown["seconds"] = shown["seconds"].map("{:.1f}".format)
    shown["peak_mb"] = shown["peak_mb"].map("{:.0f}".format)
    shown["us_per_person"] = shown["us_per_person"].map("{:.1f}".format)
    if "identical" not in shown:
        shown["identical"] = None
    shown["identical"] = shown["identical"].map({True: "yes", False: "NO"}).fillna("-")
    columns = ["stage", "persons", "engine", "seconds", "us_per_person", "peak_mb", "identical"]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    text = [
        "# Scaling out (`benchmarks/bench_scale.py`)",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} cores, load average {load} at the "
        f"end; `--engine local` (one process) against `--engine dask --workers 2` (a "
        f"LocalCluster of two processes); seed {args.seed}; the model trained on "
        f"{args.train_size:,} persons (S-learner, default settings); whole run {seconds / 60:.0f} "
        "min. `peak_mb`: the largest resident memory of the command's whole process tree "
        "(scheduler and workers included). `identical`: the two engines' outputs compared in "
        "full.",
        "",
        markdown(shown[columns]),
        "",
        "## Time per person, growth over a tenfold population",
        "",
        markdown(growth(table)),
        "",
        f"The models trained on either engine recommend the same: "
        f"{'yes' if models_agree else 'NO'}.",
        "",
        "![time per person and peak memory against persons](../../docs/scale.png)",
    ]
    args.out.write_text("\n".join(text) + "\n", "utf-8")


def plot(table: pd.DataFrame, path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    FigureCanvasAgg(fig)
    per_person, memory = fig.subplots(1, 2)
    for (stage, engine), part in table.groupby(["stage", "engine"], sort=False):
        part = part.sort_values("persons")
        style = "-" if engine == "local" else "--"
        for axis, column in ((per_person, "us_per_person"), (memory, "peak_mb")):
            axis.plot(part["persons"], part[column], style, marker="o", label=f"{stage} {engine}")
    for axis, label in ((per_person, "µs per person"), (memory, "peak MB (process tree)")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("persons")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
    per_person.legend(fontsize=7)
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()

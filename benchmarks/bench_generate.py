"""Benchmark `adapt.simulation.generate`: throughput, peak memory and linearity.

    .venv/bin/python benchmarks/bench_generate.py --sizes 100000 1000000 --workers 1 2

Each (size, workers) run happens in a fresh Python process, so its peak memory is its own. That
process reads `resource.getrusage`: RUSAGE_SELF is the main process's peak RSS, RUSAGE_CHILDREN
the peak of the largest worker (Linux reports the largest reaped child, not a sum). The tree bound
is main + workers x largest worker; forked workers share pages with the main process, so the bound
over-counts. Wall time is the `generate` call alone (interpreter start-up excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_N, TARGET_SECONDS, TARGET_BYTES = 1_000_000, 60.0, 2 * 1024**3
MiB = 1024**2
RSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux


def run_single(n: int, workers: int, chunk_size: int, seed: int, out: Path) -> dict:
    """Generate once in this process and report timings, sizes and peak RSS."""
    from adapt.simulation import generate

    began = time.perf_counter()
    summary = generate(
        out, n, seed=seed, chunk_size=chunk_size, workers=workers, overwrite=True, progress=False
    )
    seconds = time.perf_counter() - began
    return {
        "n": n,
        "workers": workers,
        "seconds": seconds,
        "episodes": summary.n_episodes,
        "truth_rows": summary.n_truth_rows,
        "disk": sum(f.stat().st_size for f in out.rglob("*") if f.is_file()),
        "main_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * RSS_UNIT,
        "worker_peak": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * RSS_UNIT,
    }


def run_fresh(n: int, workers: int, chunk_size: int, seed: int, out: Path) -> dict:
    """Run one configuration in a new interpreter and parse the JSON line it prints."""
    cmd = [
        sys.executable,
        __file__,
        "--single",
        "--sizes",
        str(n),
        "--workers",
        str(workers),
        "--chunk-size",
        str(chunk_size),
        "--seed",
        str(seed),
        "--out-dir",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"run failed ({' '.join(cmd)}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def verdict(r: dict) -> str:
    if r["n"] != TARGET_N:
        return "-"
    misses = [
        what
        for what, ok in (
            ("time", r["seconds"] <= TARGET_SECONDS),
            ("memory", r["tree_peak"] <= TARGET_BYTES),
        )
        if not ok
    ]
    return f"MISS ({', '.join(misses)})" if misses else "PASS"


def report(rows: list[dict]) -> None:
    head = [
        "persons",
        "workers",
        "wall s",
        "persons/s",
        "s per 1M",
        "episodes",
        "truth rows",
        "disk MiB",
        "main peak MiB",
        "largest worker MiB",
        "tree bound MiB",
        "1M target",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "---:|" * (len(head) - 1) + ":---|")
    for r in rows:
        worker = f"{r['worker_peak'] / MiB:,.0f}" if r["workers"] > 1 else "-"
        cells = [
            f"{r['n']:,}",
            r["workers"],
            f"{r['seconds']:.1f}",
            f"{r['n'] / r['seconds']:,.0f}",
            f"{r['seconds'] / r['n'] * 1e6:.1f}",
            f"{r['episodes']:,}",
            f"{r['truth_rows']:,}",
            f"{r['disk'] / MiB:,.1f}",
            f"{r['main_peak'] / MiB:,.0f}",
            worker,
            f"{r['tree_peak'] / MiB:,.0f}",
            verdict(r),
        ]
        print("| " + " | ".join(map(str, cells)) + " |")
    print(
        f"\nTarget: {TARGET_N:,} persons in <= {TARGET_SECONDS:.0f} s wall and <= "
        f"{TARGET_BYTES / 1024**3:.0f} GiB peak RSS (tree bound) on this "
        f"{os.cpu_count()}-core machine."
    )
    for w in sorted({r["workers"] for r in rows}):
        per_m = [(r["n"], r["seconds"] / r["n"] * 1e6) for r in rows if r["workers"] == w]
        if len(per_m) > 1:
            steps = ", ".join(f"{n:,}: {s:.1f}" for n, s in per_m)
            print(
                f"Linearity, {w} worker(s), s per 1M persons: {steps} "
                f"(largest / smallest = {per_m[-1][1] / per_m[0][1]:.2f}; 1.00 is linear)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, help="kept if given; default: a removed temp dir")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.single:
        result = run_single(
            args.sizes[0], args.workers[0], args.chunk_size, args.seed, args.out_dir
        )
        print(json.dumps(result))
        return

    root = args.out_dir or Path(tempfile.mkdtemp(prefix="bench_generate-"))
    rows = []
    try:
        for n in sorted(args.sizes):
            for w in args.workers:
                print(f"generating {n:,} persons with {w} worker(s) ...", file=sys.stderr)
                r = run_fresh(n, w, args.chunk_size, args.seed, root / f"n{n}-w{w}")
                r["tree_peak"] = r["main_peak"] + (w * r["worker_peak"] if w > 1 else 0)
                rows.append(r)
    finally:
        if args.out_dir is None:
            shutil.rmtree(root, ignore_errors=True)
    rows.sort(key=lambda r: (r["workers"], r["n"]))
    report(rows)


if __name__ == "__main__":
    main()

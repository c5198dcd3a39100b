"""How long the data contract takes to check simulated populations of growing size.

.venv/bin/python benchmarks/bench_validate.py            # 100k and 1M persons
"""

from __future__ import annotations

import argparse
import time

from adapt.contract import check_tables
from adapt.simulation import simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    print("| persons | episodes | check s | violations |\n|---:|---:|---:|---:|")
    for n in args.sizes:
        data = simulate(n, seed=0, truth=False)
        began = time.perf_counter()
        violations = check_tables(data["persons"], data["episodes"])
        seconds = time.perf_counter() - began
        print(f"| {n:,} | {len(data['episodes']):,} | {seconds:.1f} | {len(violations)} |")


if __name__ == "__main__":
    main()

"""Does the truth-free selection criterion rank learners like the true regret closure does?

    .venv/bin/python benchmarks/bench_selection.py --persons 3200 --seeds 1 2 3
    .venv/bin/python benchmarks/bench_selection.py --persons 20000 --seeds 1 --presets default

Prototype for issue [J] items 1 and 5. Per world x size x seed: simulate, split 70/30 by person.
Candidates are learners s, t, x, dr x two LightGBM settings (default; regularised: num_leaves=7,
min_child_samples=100, n_estimators=150), n_bags=2 to fit the time budget. Criterion: the
out-of-fold doubly robust value (`policy_value_out_of_fold`, 3 person-grouped folds, shared
S-learner nuisances) on the 70 %. Truth: each candidate fitted on all of the 70 %, recommending
the best offered intervention on the 30 %, true regret closure there. Reported: Spearman rank
correlation of criterion and closure over the 8 candidates, the criterion's pick, whether its
closure is within 0.01 of the best candidate's, and seconds per candidate (criterion / full fit).
Each run appends one JSON line to benchmarks/results/selection.jsonl; `--report` rebuilds
benchmarks/results/selection.md from it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "10000")  # see bench_learners.py

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _markdown import markdown  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
LEARNERS = ("s", "t", "x", "dr")
SETTINGS = {
    "default": {},
    "reg": {"num_leaves": 7, "min_child_samples": 100, "n_estimators": 150},
}
N_BAGS, N_FOLDS, WITHIN = 2, 3, 0.01


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(preset: str, n_persons: int, seed: int) -> dict:
    from adapt.evaluation import compare_policies, truth_matrix
    from adapt.evaluation._selection import cross_fitted_nuisances, policy_value_out_of_fold
    from adapt.features import decision_points
    from adapt.models import make_learner
    from adapt.policies import choose_best
    from adapt.simulation import simulate

    data = simulate(n_persons, seed=seed, preset=preset)
    dp = decision_points(data["persons"], data["episodes"])
    persons = np.random.default_rng(seed).permutation(dp.keys["person_id"].unique())
    is_train = dp.keys["person_id"].isin(persons[: round(0.7 * len(persons))]).to_numpy()
    train, test = dp.take(np.flatnonzero(is_train)), dp.take(np.flatnonzero(~is_train))
    X, t, y = train.features, train.treatment.to_numpy(object), train.outcome.to_numpy()
    g = train.keys["person_id"].to_numpy()
    truth = truth_matrix(data["truth"], test.keys)
    truth_train = truth_matrix(data["truth"], train.keys)
    began = time.perf_counter()
    nuisances = cross_fitted_nuisances(X, t, y, g, n_folds=N_FOLDS, seed=seed)
    nuisance_s = time.perf_counter() - began
    rows = []
    for setting, params in SETTINGS.items():
        for name in LEARNERS:

            def make(name=name, params=params):
                return make_learner(name, n_bags=N_BAGS, random_state=seed, n_jobs=1, **params)

            score = policy_value_out_of_fold(make, X, t, y, g, nuisances=nuisances, seed=seed)
            began = time.perf_counter()
            model = make().fit(X, t, y, groups=g)
            choices = choose_best(model.predict(test.features)).to_numpy()
            fit_s = time.perf_counter() - began
            table = compare_policies(
                {"candidate": choices}, truth, test.treatment.to_numpy(object), n_bootstrap=0
            )
            # the out-of-fold choices' own true closure on the 70 %: separates the DR estimate's
            # noise from the gap between the fold fits and the full fit
            oof = compare_policies({"candidate": score.choices}, truth_train, t, n_bootstrap=0)
            rows.append(
                {
                    "oof_closure": float(oof.loc["candidate", "regret_closure"]),
                    "candidate": f"{name}/{setting}",
                    "dr_value": score.value,
                    "dr_low": score.low,
                    "dr_high": score.high,
                    "closure": float(table.loc["candidate", "regret_closure"]),
                    "criterion_s": score.seconds,
                    "full_fit_s": fit_s,
                }
            )
            log(f"[{preset} {n_persons} {seed}] {rows[-1]}")
    return {
        "preset": preset,
        "persons": n_persons,
        "seed": seed,
        "behaviour_value": float(np.mean(y)),
        "nuisance_s": nuisance_s,
        "candidates": rows,
    }


def summary(result: dict) -> dict:
    c = pd.DataFrame(result["candidates"])
    rho = stats.spearmanr(c["dr_value"], c["closure"]).statistic
    has_oof = "oof_closure" in c and c["oof_closure"].notna().all()
    rho_oof = stats.spearmanr(c["dr_value"], c["oof_closure"]).statistic if has_oof else np.nan
    rho_fit = stats.spearmanr(c["oof_closure"], c["closure"]).statistic if has_oof else np.nan
    pick = c.loc[c["dr_value"].idxmax()]
    best = c.loc[c["closure"].idxmax()]
    return {
        "world": result["preset"],
        "persons": result["persons"],
        "seed": result["seed"],
        "spearman": float(rho),
        "rho_dr_oof": float(rho_oof),
        "rho_oof_test": float(rho_fit),
        "pick": pick["candidate"],
        "pick_closure": float(pick["closure"]),
        "best": best["candidate"],
        "best_closure": float(best["closure"]),
        "within_0.01": "yes" if best["closure"] - pick["closure"] <= WITHIN else "no",
        "pick_dr": float(pick["dr_value"]),
        "pick_dr_low": float(pick["dr_low"]),
        "caseworkers": result["behaviour_value"],
        "s_per_candidate": float((c["criterion_s"] + c["full_fit_s"]).mean()),
    }


def report() -> str:
    lines = [json.loads(x) for x in (RESULTS / "selection.jsonl").read_text().splitlines() if x]
    table = pd.DataFrame([summary(r) for r in lines]).sort_values(["world", "persons", "seed"])
    per_candidate = pd.concat(
        [
            pd.DataFrame(r["candidates"]).assign(world=r["preset"], persons=r["persons"])
            for r in lines
        ]
    )
    means = (
        per_candidate.groupby(["candidate"])[["dr_value", "closure", "criterion_s", "full_fit_s"]]
        .mean()
        .reset_index()
    )
    detail = pd.concat(
        [
            pd.DataFrame(r["candidates"]).assign(
                world=r["preset"], persons=r["persons"], seed=r["seed"]
            )
            for r in lines
        ]
    ).reindex(
        columns=["world", "persons", "seed", "candidate", "dr_value", "dr_low", "dr_high"]
        + ["oof_closure", "closure"]
    )
    text = [
        "# Selection criterion: out-of-fold DR value vs true regret closure",
        "",
        "Made by `benchmarks/bench_selection.py` (prototype, issue [J] items 1 and 5). Candidates:",
        f"s, t, x, dr x {{default, reg}} LightGBM settings, n_bags={N_BAGS}. Criterion: pooled",
        f"out-of-fold DR value over {N_FOLDS} person-grouped folds of the 70 % training persons,",
        "shared S-learner nuisances (1 bag) per fold, propensities clipped at 0.01. Truth:",
        "regret closure on the 30 % test persons of the candidate fitted on all of the 70 %.",
        "`pick` is the candidate with the highest criterion; `within_0.01` whether its true",
        "closure is within 0.01 of the best candidate's. `caseworkers`: mean observed outcome",
        "on the 70 % (the fallback). `s_per_candidate`: criterion (3 fits) + full fit, seconds,",
        "n_jobs=1, 2 cores shared with another job. Diagnostics (truth on the 70 %):",
        "`rho_dr_oof` ranks the criterion against the true closure of the very out-of-fold",
        "choices it scores (the DR estimate's own error); `rho_oof_test` ranks that against the",
        "test closure (fold fits vs the full fit).",
        "",
        markdown(table),
        "",
        f"Mean Spearman: {table['spearman'].mean():.3f}; pick within 0.01: "
        f"{(table['within_0.01'] == 'yes').sum()}/{len(table)}.",
        "",
        "## Mean per candidate over runs",
        "",
        markdown(means),
        "",
        "## Every candidate",
        "",
        markdown(detail),
        "",
    ]
    return "\n".join(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--presets", nargs="+", default=["default", "order_effects", "strong_confounding"]
    )
    parser.add_argument("--persons", type=int, default=3200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--report", action="store_true", help="only rebuild selection.md")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if not args.report:
        for preset in args.presets:
            for seed in args.seeds:
                result = run(preset, args.persons, seed)
                with open(RESULTS / "selection.jsonl", "a") as out:
                    out.write(json.dumps(result) + "\n")
                log(json.dumps(summary(result)))
    (RESULTS / "selection.md").write_text(report())


if __name__ == "__main__":
    main()

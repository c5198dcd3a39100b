"""`--learner auto` against the truth: its pick, every candidate, the criterion, a plain LightGBM.

    .venv/bin/python benchmarks/bench_auto.py --persons 3200 --seeds 1 2 3 4 5
    .venv/bin/python benchmarks/bench_auto.py --persons 30000 --seeds 1
    .venv/bin/python benchmarks/bench_auto.py --report

Per world x size x seed: simulate, build decision points with the ordered history, split 70/30
by person. `AutoLearner` is fitted on the 70 % as a user would (default budget; its search and
its final fit timed). With ``--validate`` the criterion is judged: a second `AutoLearner` scores
every candidate (no budget), and each is refitted on the 70 % as it was scored (score_n_bags)
so that its recommendations on the 30 % get their true regret closure. Side by side:
the library's S-learner as it is (n_bags=5) and a plain LightGBM classifier (library defaults,
the intervention as a categorical feature, argmax over offered interventions). Reported: the
closure of auto's pick, of the S-learner and of the plain LightGBM, the Spearman rank
correlation of the criterion with the candidates' true closures, whether the pick (as scored) is
within 0.01 of the best candidate, auto's fit time over the S-learner's. One JSON line per run in
benchmarks/results/auto.jsonl; `--report` writes benchmarks/results/auto.md from it.
"""

from __future__ import annotations

import argparse
import json
import math
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
JSONL = RESULTS / "auto.jsonl"
WITHIN = 0.01


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def closure(choices, truth, observed) -> float:
    from adapt.evaluation import compare_policies

    table = compare_policies({"c": np.asarray(choices)}, truth, observed, n_bootstrap=0)
    return float(table.loc["c", "regret_closure"])


def plain_lightgbm(X, t, y, Xt, codes, available, seed):
    import lightgbm as lgb

    def arm(frame, arms):
        return frame.assign(__arm__=pd.Categorical.from_codes(arms, categories=codes))

    tcode = pd.Index(codes).get_indexer(t)
    model = lgb.LGBMClassifier(random_state=seed, n_jobs=1, verbose=-1).fit(arm(X, tcode), y)
    p = np.column_stack(
        [model.predict_proba(arm(Xt, np.full(len(Xt), a)))[:, 1] for a in range(len(codes))]
    )
    return np.asarray(codes)[np.where(available, p, -np.inf).argmax(axis=1)]


# Worlds built here, beyond the presets, to differ in structure from what auto was designed on:
# - x_confounded: a trait (the `unobserved_confounder` preset's, at weight 1.0) that drives both
#   the caseworkers' choice and the outcome, observed with noise as the covariate `x_network`;
# - rare_unequal: caseworkers choosing by readiness 2.5 times as strongly, positivity 0.01 (rare
#   interventions stay rare), and two regions thinned to a sixth of their persons.
BUILT = ("x_confounded", "rare_unequal")


def simulate_world(name: str, n_persons: int, seed: int) -> dict:
    from adapt.simulation import World, simulate
    from adapt.simulation._population import sample_population
    from adapt.simulation._random import CounterRNG

    if name not in BUILT:
        return simulate(n_persons, seed=seed, preset=name)
    if name == "x_confounded":
        world = World.from_preset(
            "unobserved_confounder", overrides={"knobs.unobserved_confounding": 1.0}
        )
        data = simulate(n_persons, seed=seed, world=world)
        trait = sample_population(world, CounterRNG(seed), np.arange(n_persons)).confounder
        noise = np.random.default_rng(seed + 99).normal(0, 0.5, n_persons)
        data["persons"] = data["persons"].assign(x_network=trait + noise)
        return data
    world = World.from_preset(
        "default", overrides={"knobs.confounding_strength": 2.5, "knobs.positivity": 0.01}
    )
    data = simulate(n_persons, seed=seed, world=world)
    persons = data["persons"]
    regions = sorted(persons["region"].astype(str).unique())[:2]
    rng = np.random.default_rng(seed + 7)
    thin = persons["region"].astype(str).isin(regions).to_numpy()
    drop = set(persons["person_id"][thin & (rng.random(len(persons)) > 1 / 6)])
    return {k: v[~v["person_id"].isin(drop)].reset_index(drop=True) for k, v in data.items()}


def run(preset: str, n_persons: int, seed: int, budget: float | None, validate: bool) -> dict:
    from adapt.evaluation import truth_matrix
    from adapt.features import decision_points
    from adapt.models import make_learner
    from adapt.policies import choose_best
    from adapt.selection import AutoLearner, default_candidates

    data = simulate_world(preset, n_persons, seed)
    dp = decision_points(data["persons"], data["episodes"], history="ordered")
    persons = np.random.default_rng(seed).permutation(dp.keys["person_id"].unique())
    is_train = dp.keys["person_id"].isin(persons[: round(0.7 * len(persons))]).to_numpy()
    train, test = dp.take(np.flatnonzero(is_train)), dp.take(np.flatnonzero(~is_train))
    X, t, y = train.features, train.treatment.to_numpy(object), train.outcome.to_numpy()
    g = train.keys["person_id"].to_numpy()
    tt = test.treatment.to_numpy(object)
    truth = truth_matrix(data["truth"], test.keys)

    began = time.perf_counter()
    auto = AutoLearner(budget_seconds=budget, random_state=seed).fit(X, t, y, groups=g)
    auto_s = time.perf_counter() - began
    auto_closure = closure(choose_best(auto.predict(test.features)), truth, tt)
    # what `adapt recommend` and recommend() put first: the usual path when auto falls back
    as_recommended = auto.usual_path(test.features) if auto.fallback_ else None
    recommended_closure = (
        auto_closure if as_recommended is None else closure(as_recommended, truth, tt)
    )

    candidates = {c.name: c for c in default_candidates()}
    rows = []
    if validate:
        # the criterion over every candidate, however long it takes: its validation
        scored = AutoLearner(budget_seconds=math.inf, random_state=seed).fit(X, t, y, groups=g)
        for row in scored.cv_results_.to_dict("records"):
            c = candidates[row["candidate"]]
            model = c.make(n_bags=scored.score_n_bags, random_state=seed).fit(
                c.columns(X), t, y, groups=g
            )
            choices = choose_best(model.predict(c.columns(test.features)))
            row["closure"] = closure(choices, truth, tt)
            rows.append(row)
            log(f"[{preset} {n_persons} {seed}] {row['candidate']}: {row['closure']:.3f}")

    Xs, Xts = candidates["s/default"].columns(X), candidates["s/default"].columns(test.features)
    began = time.perf_counter()
    s = make_learner("s", random_state=seed).fit(Xs, t, y, groups=g)
    s_s = time.perf_counter() - began
    s_closure = closure(choose_best(s.predict(Xts)), truth, tt)
    available = ~np.isnan(s.predict(Xts).to_numpy(float))
    plain = plain_lightgbm(Xs, t, y, Xts, s.interventions_, available, seed)
    return {
        "preset": preset,
        "persons": n_persons,
        "seed": seed,
        "budget": budget,
        "pick": auto.best_candidate_,
        "fallback": bool(auto.fallback_),
        "auto_closure": auto_closure,
        "recommended_closure": recommended_closure,
        "s_closure": s_closure,
        "plain_closure": closure(plain, truth, tt),
        "auto_s": auto_s,
        "search_s": auto.search_seconds_,
        "s_s": s_s,
        "scored": auto.cv_results_.to_dict("records"),
        "candidates": rows,
    }


KEY = ["world", "persons", "seed"]


def summary(r: dict) -> dict:
    return {
        "world": r["preset"],
        "persons": r["persons"],
        "seed": r["seed"],
        "auto": r["auto_closure"],
        "as_recommended": r.get("recommended_closure", np.nan),
        "pick": r["pick"] + (" (fallback)" if r["fallback"] else ""),
        "s": r["s_closure"],
        "plain_lightgbm": r["plain_closure"],
        "fit_x_s": r["auto_s"] / r["s_s"],
    }


def validation(r: dict) -> dict:
    """The criterion against the truth in a `--validate` run (its own pick, over every
    candidate)."""
    c = pd.DataFrame(r["candidates"]).dropna(subset=["closure"]).set_index("candidate")
    best = c["closure"].idxmax()
    gap = c.loc[best, "closure"] - c.loc[r["pick"], "closure"]
    return {
        "world": r["preset"],
        "persons": r["persons"],
        "seed": r["seed"],
        "best_candidate": best,
        "best_closure": c.loc[best, "closure"],
        "pick_within_0.01": "yes" if gap <= WITHIN else "no",
        "spearman": float(stats.spearmanr(c["value"], c["closure"]).statistic),
    }


def report() -> str:
    """The latest run of each world x size x seed, with the latest `--validate` run's criterion
    figures beside it."""
    lines = [json.loads(x) for x in JSONL.read_text().splitlines() if x]
    table = pd.DataFrame([summary(r) for r in lines]).drop_duplicates(KEY, keep="last")
    validated = [r for r in lines if r["candidates"]]
    if validated:
        checks = pd.DataFrame([validation(r) for r in validated]).drop_duplicates(KEY, keep="last")
        table = table.merge(checks, on=KEY, how="left")
    table = table.sort_values(["persons", "world", "seed"])
    figures = ["auto", "as_recommended", "s", "plain_lightgbm", "spearman", "fit_x_s"]
    means = (
        table.groupby(["persons", "world"])[[f for f in figures if f in table]]
        .agg(["mean", "min"])
        .round(3)
    )
    means.columns = [f"{a}_{b}" for a, b in means.columns]
    detail = pd.concat(
        [
            pd.DataFrame(r["candidates"]).assign(
                world=r["preset"], persons=r["persons"], seed=r["seed"]
            )
            for r in validated
        ]
    )
    keep = ["world", "persons", "seed", "candidate", "status", "value", "gain", "gain_low"]
    keep += ["over_caseworkers_low", "closure", "seconds"]
    text = [
        "# `--learner auto` against the truth",
        "",
        "Made by `benchmarks/bench_auto.py` (see its docstring for the protocol). `auto`, `s`,",
        "`plain_lightgbm`: true regret closure on the 30 % test persons of auto's pick (refitted",
        "on the 70 %), of the library's S-learner and of a plain LightGBM; `spearman`: rank",
        "correlation over every candidate (runs with `--validate`) of the criterion (out-of-fold",
        "DR value) and their true closure; `pick_within_0.01`: whether the pick, as scored, is",
        "within 0.01 of the best candidate's true closure; `fit_x_s`: auto's whole fit (search",
        "and final fit, default budget) over the S-learner's; `as_recommended`: what `adapt",
        "recommend` puts first (the usual path where auto falls back).",
        "",
        markdown(table),
        "",
        "## Mean and worst per world and size",
        "",
        markdown(means.reset_index()),
        "",
        "## Every candidate",
        "",
        markdown(detail.reindex(columns=keep)),
        "",
    ]
    return "\n".join(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--presets",
        nargs="+",
        default=["default", "order_effects", "order_pairs", "strong_confounding"],
    )
    parser.add_argument("--persons", type=int, default=3200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--budget-seconds", type=float, default=None)
    parser.add_argument(
        "--validate",
        action="store_true",
        help="also score every candidate (no budget) and refit each to judge the criterion",
    )
    parser.add_argument("--report", action="store_true", help="only rebuild auto.md")
    args = parser.parse_args()
    if not args.report:
        for preset in args.presets:
            for seed in args.seeds:
                result = run(preset, args.persons, seed, args.budget_seconds, args.validate)
                log(json.dumps({k: v for k, v in result.items() if k != "candidates"}))
                with JSONL.open("a") as out:
                    out.write(json.dumps(result, default=float) + "\n")
    (RESULTS / "auto.md").write_text(report(), "utf-8")


if __name__ == "__main__":
    main()

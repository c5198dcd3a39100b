"""How often does the gender audit raise an alarm, in worlds with and without gender bias?

    .venv/bin/python benchmarks/bench_fairness.py            # 20k persons; neutral x10, others x3
    .venv/bin/python benchmarks/bench_fairness.py --quick    # a smoke run (3k persons, 1 seed)
    .venv/bin/python benchmarks/bench_fairness.py --worlds gender_neutral --seeds 1 2 3

Worlds (presets of `adapt.simulation`):

- ``gender_neutral``: nothing depends on gender. Every failed check there is a false alarm.
- ``gender_bias``: caseworkers steer women away from SE, IPS and work training (logit 0.8); the
  audit should flag the *behaviour* checks. A recommender fitted on those data need not inherit it.
- ``default``: the calibrated MIA-like world; no assignment bias, but a labour-market penalty for
  women (SE/IPS and work training from step 2 up), shorter SE hours and more violence exposure for
  women, and more women in Södertälje. Recommenders may differ by gender for real reasons here.

For every world and seed: simulate `--persons` persons, split them 70/30 by person, fit an
S-learner (`make_learner("s", random_state=seed)`, default bags) on the training persons' decision
points, gender-blind (``include_sensitive=False``: no gender, no violence exposure) and
gender-aware, recommend at every test decision point (`recommend_for_decisions`) and run
`audit_choices` on the test persons (with ``model=`` and ``truth=`` when the audit takes them).
The behaviour checks judge the caseworkers' recorded choices, so they are the same for both
learners of one world and seed.

The false-alarm rate is the share of audits in ``gender_neutral`` with at least one failed check,
recommender or behaviour, with a 95 % Clopper-Pearson interval over the audits. Tables are printed
as Markdown and written to ``benchmarks/results/fairness.md`` (``--out``; a ``--quick`` run writes
only when ``--out`` is given).
"""

from __future__ import annotations

import argparse
import inspect
import os
import platform
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "10000")  # see bench_learners.py

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

WORLDS = ("gender_neutral", "gender_bias", "default")
NULL_WORLD = "gender_neutral"
SEEDS = {"gender_neutral": list(range(1, 11)), "gender_bias": [1, 2, 3], "default": [1, 2, 3]}
LEARNERS = {"blind": False, "aware": True}  # name -> include_sensitive
SUBJECTS = ("recommender", "behaviour")
STAGES = ("simulate", "split", "features", "fit", "recommend", "audit")
RESULTS = Path(__file__).parent / "results" / "fairness.md"


def split_by_person(data: dict, seed: int, train_share: float = 0.7):
    """(persons, episodes, truth) of the training persons and of the test persons."""
    persons = data["persons"]
    ids = np.random.default_rng(seed).permutation(persons["person_id"].to_numpy())
    train_ids = set(ids[: round(train_share * len(ids))])

    def part(train: bool):
        tables = []
        for name in ("persons", "episodes", "truth"):
            table = data[name]
            keep = table["person_id"].isin(train_ids).to_numpy() == train
            tables.append(table[keep].reset_index(drop=True))
        return tuple(tables)

    return part(True), part(False)


def audit_keywords() -> set[str]:
    """The optional keyword arguments `audit_choices` takes in this checkout."""
    from adapt.fairness import audit_choices

    return set(inspect.signature(audit_choices).parameters) & {"model", "truth"}


def run_one(
    world: str, seed: int, args, thresholds: dict, clock: dict
) -> tuple[list[dict], list[dict]]:
    """Audit both learners on one simulated world: one row per check, one per audit."""
    from adapt.fairness import audit_choices
    from adapt.features import decision_points
    from adapt.models import make_learner
    from adapt.policies._recommend import recommend_for_decisions
    from adapt.simulation import simulate

    def timed(stage, key, fn, *a, **kw):
        start = time.perf_counter()
        out = fn(*a, **kw)
        clock[(world, seed, key, stage)] = time.perf_counter() - start
        return out

    data = timed("simulate", "", simulate, args.persons, seed=seed, preset=world)
    (train_p, train_e, _), (test_p, test_e, test_truth) = timed(
        "split", "", split_by_person, data, seed
    )
    extra = audit_keywords()
    rows, audits = [], []
    for learner, sensitive in LEARNERS.items():
        points = timed(
            "features", learner, decision_points, train_p, train_e, include_sensitive=sensitive
        )
        model = make_learner("s", random_state=seed, n_jobs=args.n_jobs)
        timed(
            "fit",
            learner,
            model.fit,
            points.features,
            points.treatment,
            points.outcome,
            points.keys["person_id"],
        )
        recs = timed("recommend", learner, recommend_for_decisions, model, test_p, test_e)
        kwargs = {}
        if "model" in extra:
            kwargs["model"] = model
        if "truth" in extra:
            kwargs["truth"] = test_truth
        result = timed(
            "audit",
            learner,
            audit_choices,
            test_p,
            test_e,
            recs[["person_id", "episode_no", "recommended"]],
            thresholds=thresholds,
            seed=seed,
            **kwargs,
        )
        for check in result["checks"]:
            interval = check.get("interval") or [np.nan, np.nan]
            rows.append(
                {
                    "world": world,
                    "seed": seed,
                    "learner": learner,
                    "subject": check["subject"],
                    "name": check["name"],
                    "family": check["name"].split("[")[0],
                    "value": check["value"],
                    "lower": interval[0],
                    "upper": interval[1],
                    "threshold": str(check.get("threshold")),
                    "passed": bool(check["passed"]),
                }
            )
        summary = result.get("summary") or {}
        audits.append(
            {
                "world": world,
                "seed": seed,
                "learner": learner,
                "compared": bool(result.get("compared", True)),
                "passed": bool(result["passed"]),
                "decision_points": result["n_decision_points"],
                "flip_changed_share": summary.get("flip_changed_share", np.nan),
            }
        )
        n_failed = sum(not c["passed"] for c in result["checks"])
        print(
            f"{world} seed {seed} {learner}: {len(result['checks'])} checks, {n_failed} failed "
            f"({result['n_decision_points']:,} test decision points; audit kwargs "
            f"{sorted(kwargs) or 'none'})",
            flush=True,
        )
    return rows, audits


def commit() -> str:
    """The checkout's commit, marked ``+dirty`` when tracked files under adapt/ differ from it."""
    import subprocess

    def git(*a):
        return subprocess.run(
            ["git", *a], capture_output=True, text=True, cwd=Path(__file__).parent
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (
        "+dirty" if git("status", "--porcelain", "--untracked-files=no", "../adapt") else ""
    )


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    from scipy.stats import beta

    alpha = 1 - level
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table: text left, numbers right (floats with three decimals)."""
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame]
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |"]
    lines.append("|" + "".join("---:|" if n else ":---|" for n in numeric))
    for values in frame.itertuples(index=False):
        cells = [
            f"{v:.3f}" if isinstance(v, float) else str(v)
            for v in values  # ints stay ints
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def audits_table(checks: pd.DataFrame, audits: pd.DataFrame) -> pd.DataFrame:
    """Per world and learner: audits, share with a failed check per subject and in all."""
    failed = (
        checks.assign(failed=~checks["passed"])
        .groupby(["world", "seed", "learner", "subject"])["failed"]
        .any()
        .unstack("subject")
        .reindex(columns=list(SUBJECTS))
        .fillna(False)
        .astype(bool)
    )
    per_audit = audits.join(failed, on=["world", "seed", "learner"])
    per_audit[list(SUBJECTS)] = per_audit[list(SUBJECTS)].fillna(False).astype(bool)
    per_audit["any"] = per_audit[list(SUBJECTS)].any(axis=1)
    counts = checks.groupby(["world", "seed", "learner", "subject"]).size().unstack("subject")
    per_audit = per_audit.join(counts.add_prefix("n_"), on=["world", "seed", "learner"])
    # An audit that could not compare women and men (too few of either) is a failure too.
    per_audit["any"] |= ~per_audit["compared"]
    rows = []
    for (world, learner), group in per_audit.groupby(["world", "learner"], sort=False):
        n = len(group)
        k = int(group["any"].sum())
        low, high = clopper_pearson(k, n)
        rows.append(
            {
                "world": world,
                "learner": learner,
                "audits": n,
                "recommender checks / audit": float(group["n_recommender"].mean()),
                "behaviour checks / audit": float(group["n_behaviour"].mean()),
                "recommender failed": float(group["recommender"].mean()),
                "behaviour failed": float(group["behaviour"].mean()),
                "any failed": f"{k}/{n} = {k / n:.3f} [{low:.3f}, {high:.3f}]",
                "not compared": int((~group["compared"]).sum()),
                "flip changed": float(group["flip_changed_share"].mean()),
            }
        )
    return pd.DataFrame(rows)


def families_table(checks: pd.DataFrame) -> pd.DataFrame:
    table = (
        checks.assign(failed=~checks["passed"])
        .groupby(["world", "learner", "subject", "family"], sort=False)["failed"]
        .agg(checks="size", failed="sum", share_failed="mean")
        .reset_index()
    )
    table["failed"] = table["failed"].astype(int)
    return table


def most_failing(checks: pd.DataFrame, audits: pd.DataFrame, top: int) -> pd.DataFrame:
    n_audits = audits.groupby(["world", "learner"]).size()
    failed = checks[~checks["passed"]]
    rows = []
    for (world, learner, subject, name), group in failed.groupby(
        ["world", "learner", "subject", "name"], sort=False
    ):
        rows.append(
            {
                "world": world,
                "learner": learner,
                "subject": subject,
                "check": name,
                "failed in": f"{len(group)}/{n_audits[(world, learner)]}",
                "n": len(group),
                "mean value": float(group["value"].mean()),
                "values [interval]": "; ".join(
                    f"{v:.2f} [{lo:.2f}, {hi:.2f}]"
                    for v, lo, hi in group[["value", "lower", "upper"]].head(3).to_numpy()
                ),
            }
        )
    if not rows:
        return pd.DataFrame(columns=["world", "learner", "subject", "check", "failed in"])
    table = pd.DataFrame(rows).sort_values(
        ["world", "learner", "subject", "n"], ascending=[True, True, True, False], kind="stable"
    )
    table = table.groupby(["world", "learner", "subject"], sort=False).head(top)
    return table.drop(columns="n").reset_index(drop=True)


def timing_table(clock: dict) -> pd.DataFrame:
    """Seconds per stage: simulate and split once per world and seed, the rest per learner."""
    totals, calls = defaultdict(float), defaultdict(int)
    for (_, _, _, stage), seconds in clock.items():
        totals[stage] += seconds
        calls[stage] += 1
    return pd.DataFrame(
        [
            {"stage": s, "calls": calls[s], "total s": totals[s], "mean s": totals[s] / calls[s]}
            for s in STAGES
            if calls[s]
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", nargs="+", default=list(WORLDS))
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=None,
        help="Seeds for every world (default: 1..10 for gender_neutral, 1..3 for the others)",
    )
    parser.add_argument("--persons", "--n-persons", type=int, default=20_000)
    parser.add_argument("--n-jobs", type=int, default=1, help="LightGBM threads")
    parser.add_argument("--top", type=int, default=5, help="Most failing checks listed per row")
    parser.add_argument("--quick", action="store_true", help="3,000 persons, seed 1 per world")
    parser.add_argument("--out", type=Path, default=None, help=f"Markdown (default {RESULTS})")
    parser.add_argument("--csv", type=Path, default=None, help="Every check of every audit")
    parser.add_argument("--thresholds", type=Path, default=None, help="Audit thresholds YAML")
    args = parser.parse_args()
    if args.quick:
        args.persons = min(args.persons, 3000)
    seeds = {
        w: (args.seeds or ([1] if args.quick else SEEDS.get(w, [1, 2, 3]))) for w in args.worlds
    }
    out = args.out if args.out is not None else (None if args.quick else RESULTS)

    from adapt.fairness import load_thresholds

    # Read once: every audit of the run is judged by the same thresholds, even if the file changes.
    thresholds = load_thresholds(args.thresholds)
    code = commit()
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    clock: dict = {}
    rows, audit_rows = [], []
    for world in args.worlds:
        for seed in seeds[world]:
            checks_here, audits_here = run_one(world, seed, args, thresholds, clock)
            rows += checks_here
            audit_rows += audits_here
    wall = time.perf_counter() - started

    checks = pd.DataFrame(rows)
    audits = pd.DataFrame(audit_rows)
    if args.csv:
        checks.to_csv(args.csv, index=False)
    kwargs = sorted(audit_keywords())
    header = (
        f"## Gender audit: false alarms and detection (`benchmarks/bench_fairness.py`, "
        f"{date.today()})\n\n"
        f"{args.persons:,} persons per world and seed, 70/30 split by person, S-learner "
        f"(default bags, n_jobs={args.n_jobs}) gender-blind and gender-aware, audited on the test "
        f"persons with `audit_choices` (keyword arguments: {', '.join(kwargs) or 'none'}). "
        f"Thresholds: "
        + ", ".join(f"{k} {v}" for k, v in thresholds.items())
        + f". Code: {code}. Seeds: "
        + ", ".join(f"{w} {seeds[w][0]}..{seeds[w][-1]}" for w in args.worlds)
        + f". Whole run {wall / 60:.1f} min on {os.cpu_count()} CPUs ({platform.machine()}), "
        f"1-min load average {load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the "
        "end (the end figure includes this run itself, about 1)."
    )
    sections = [header]
    if NULL_WORLD in args.worlds:
        null = checks[checks["world"] == NULL_WORLD]
        null_audits = audits[audits["world"] == NULL_WORLD].set_index(["seed", "learner"])
        all_passed = null.groupby(["seed", "learner"])["passed"].all()
        all_passed = all_passed.reindex(null_audits.index, fill_value=True)
        alarm = ~all_passed | ~null_audits["compared"]

        def rate(flags: pd.Series) -> str:
            k, n = int(flags.sum()), len(flags)
            low, high = clopper_pearson(k, n)
            return f"{k}/{n} audits = {k / n:.3f} [{low:.3f}, {high:.3f}]"

        by_learner = "; ".join(
            f"{learner} {rate(alarm.xs(learner, level='learner'))}"
            for learner in alarm.index.get_level_values("learner").unique()
        )
        behaviour = null[null["subject"] == "behaviour"].groupby("seed")["passed"].all()
        sections.append(
            f"**False-alarm rate** ({NULL_WORLD}, any failed check, recommender or behaviour; "
            f"95 % Clopper-Pearson intervals): {rate(alarm)}. By learner: {by_learner}. "
            f"Behaviour alone (one audit per seed): {rate(~behaviour)}. Per check: "
            f"{int((~null['passed']).sum())}/{len(null)} checks failed. The two learners of a "
            "seed share the same behaviour checks, so the audits are not all independent."
        )
    sections += [
        "### Audits with at least one failed check\n\n"
        "Shares of audits; `any failed`: count, share and 95 % Clopper-Pearson interval; "
        "`not compared`: audits with too few women or men; `flip changed`: mean share of "
        "decision points whose recommendation changes when only gender is flipped.\n\n"
        + markdown(audits_table(checks, audits)),
        "### Checks per family\n\n" + markdown(families_table(checks)),
        f"### Most often failing checks (top {args.top} per world, learner and subject)\n\n"
        "`values [interval]`: the first three failing audits' value and interval.\n\n"
        + markdown(most_failing(checks, audits, args.top)),
        "### Time per stage\n\n" + markdown(timing_table(clock)),
    ]
    text = "\n\n".join(sections) + "\n"
    print("\n" + text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, "utf-8")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()

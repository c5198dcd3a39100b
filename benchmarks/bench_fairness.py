"""How often does the gender audit cry wolf, and does it still catch real bias?

    .venv/bin/python benchmarks/bench_fairness.py                  # 20 seeds at 3,000, 10 at 20,000
    .venv/bin/python benchmarks/bench_fairness.py --quick          # a smoke run (2 seeds, 3,000)
    .venv/bin/python benchmarks/bench_fairness.py --sizes 3000 --seeds 1 2 3

Null worlds: nothing depends on gender, so every failed check on the recommender is a false
alarm. They differ from the ``gender_neutral`` preset the audit was built beside:

- ``neutral``: the ``gender_neutral`` preset as it is.
- ``neutral_region``: the same persons, gender drawn again with a share of women that differs by
  region (0.30 to 0.80), and the audited persons of two regions thinned to a sixth (regions of
  very unequal size). Gender enters no mechanism of this world, so drawing it again after the
  simulation is the same as simulating with it: an exact null world.
- ``neutral_age``: gender drawn again tied to age (P(woman) = 1 / (1 + exp(-(age - 41) / 6))).
- ``neutral_confounded``: ``gender_neutral`` with caseworkers choosing far more by readiness
  (confounding 2.5), rarer choices off the usual path (positivity 0.01) and doubled order
  effects: rare interventions, a skewed recommender.

Detection (bias planted, so a failed check is a catch):

- ``withholding``: in the ``neutral`` world, a recommender that never gives women a job-oriented
  option (supported employment, IPS, work training): each such recommendation to a woman is
  replaced by her best other option by the learner's own estimate. Caught when a check on one of
  those interventions fails.
- ``gender_bias``: the preset's caseworkers steer women away from SE, IPS and work training
  (logit 0.8); caught when a *behaviour* check on one of them fails. Their recorded choices do
  not depend on the split, so this audit reads every person (as ``adapt audit --data`` does).

For every world, size and seed: simulate, split 70/30 by person, fit a gender-blind S-learner
(``include_sensitive=False``, default settings) on the training persons, recommend at every test
decision point and run `audit_choices` on the test persons with the model and the truth. The
gender-aware learner is audited in ``neutral`` too and reported apart: it reads gender, so the
differences it shows are its own, not chance (its flip share says how much).

Rates are shares of audits with 95 % Clopper-Pearson intervals; the tables are written to
``benchmarks/results/fairness.md`` (``--out``; a ``--quick`` run writes only with ``--out``).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "10000")  # see bench_learners.py

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _markdown import markdown  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "fairness.md"
JOB_FAMILIES = ("employment_support", "work_training")
CONFOUNDED = {
    "knobs.confounding_strength": 2.5,
    "knobs.positivity": 0.01,
    "knobs.order_effect_scale": 2.0,
}
REGION_WOMEN = (0.30, 0.45, 0.55, 0.65, 0.80)  # cycled over the catalogue's regions


class CachedPredictions:
    """A fitted learner whose `predict` remembers its last answer: the relabelled audits of one
    seed ask for the same estimates again (a gender-blind model never sees the labels)."""

    def __init__(self, model):
        self._model, self._key, self._value = model, None, None

    def __getattr__(self, name):
        return getattr(self._model, name)

    def predict(self, features):
        key = int(pd.util.hash_pandas_object(features, index=False).sum())
        if key != self._key:
            self._key, self._value = key, self._model.predict(features)
        return self._value


def split(data: dict, seed: int):
    ids = np.random.default_rng(seed).permutation(data["persons"]["person_id"].to_numpy())
    train = set(ids[: round(0.7 * len(ids))])

    def part(keep_train: bool):
        return {
            name: table[table["person_id"].isin(train).to_numpy() == keep_train].reset_index(
                drop=True
            )
            for name, table in data.items()
        }

    return part(True), part(False)


def relabel(test: dict, rule: str, seed: int) -> dict:
    """The test tables with gender drawn again by `rule` (unknown gender kept)."""
    from adapt.catalogue import load_catalogue

    persons = test["persons"].copy()
    rng = np.random.default_rng([seed, 17])
    if rule == "region":
        regions = list(load_catalogue().region_codes)
        share = {r: REGION_WOMEN[i % len(REGION_WOMEN)] for i, r in enumerate(regions)}
        p_woman = persons["region"].astype(str).map(share).to_numpy(float)
    else:
        p_woman = 1 / (1 + np.exp(-(persons["age"].to_numpy(float) - 41) / 6))
    known = persons["gender"].astype(str) != "unknown"
    drawn = np.where(rng.random(len(persons)) < p_woman, "woman", "man")
    persons["gender"] = persons["gender"].astype(object).where(~known, drawn)
    persons["gender"] = persons["gender"].astype(test["persons"]["gender"].dtype)
    out = {**test, "persons": persons}
    if rule == "region":  # two regions thinned to a sixth: very unequal sizes
        regions = list(load_catalogue().region_codes)[:2]
        thin = persons["region"].astype(str).isin(regions).to_numpy()
        drop = set(persons.loc[thin & (rng.random(len(persons)) > 1 / 6), "person_id"])
        out = {k: t[~t["person_id"].isin(drop)].reset_index(drop=True) for k, t in out.items()}
    return out


def withheld(recs: pd.DataFrame, test: dict) -> pd.DataFrame:
    """The recommendations with every job-oriented option to a woman replaced by her best other
    option by the learner's estimates."""
    from adapt.catalogue import load_catalogue

    catalogue = load_catalogue()
    job = [
        c for c in catalogue.intervention_codes if catalogue.interventions[c].family in JOB_FAMILIES
    ]
    gender = recs["person_id"].map(test["persons"].set_index("person_id")["gender"]).astype(str)
    p = recs[[c for c in recs.columns if c.startswith("p_")]].copy()
    p[[f"p_{c}" for c in job if f"p_{c}" in p]] = np.nan
    best = p.fillna(-np.inf).to_numpy().argmax(axis=1)
    other = np.array([c.removeprefix("p_") for c in p.columns], dtype=object)[best]
    women = (gender == "woman").to_numpy() & recs["recommended"].isin(job).to_numpy()
    out = recs.copy()
    out.loc[women, "recommended"] = other[women]
    return out


def audit_row(world, size, seed, learner, tables, recs, model, thresholds, catch=None) -> dict:
    from adapt.fairness import audit_choices

    started = time.perf_counter()
    result = audit_choices(
        tables["persons"],
        tables["episodes"],
        recs[["person_id", "episode_no", "recommended"]],
        thresholds,
        seed=seed,
        model=model,
        truth=tables.get("truth"),
    )
    seconds = time.perf_counter() - started
    row = {
        "world": world,
        "persons": size,
        "seed": seed,
        "learner": learner,
        "verdict": result.verdict,
        "recommender failed": [c.name for c in result.of("recommender", "failed")],
        "behaviour failed": [c.name for c in result.of("behaviour", "failed")],
        "judged": len(result.of("recommender")) - len(result.of("recommender", "cannot_judge")),
        "cannot judge": len(result.of("recommender", "cannot_judge")),
        "flip": (result.flip or {}).get("changed_share", 0.0),
        "audit s": seconds,
    }
    if catch is not None:
        subject, codes = catch
        failed = row[f"{subject} failed"]
        row["caught"] = any(f"similar_rate_ratio[{c}]" in failed for c in codes)
    print(
        f"{world} n={size} seed {seed} {learner}: {result.verdict}; recommender failed "
        f"{row['recommender failed']}, behaviour failed {row['behaviour failed']}, "
        f"{row['cannot judge']} cannot judge ({seconds:.1f} s)",
        flush=True,
    )
    return row


def run_seed(size: int, seed: int, thresholds: dict, n_jobs: int, aware: bool) -> list[dict]:
    from adapt.catalogue import load_catalogue
    from adapt.features import decision_points
    from adapt.models import make_learner
    from adapt.policies import recommend_for_decisions
    from adapt.simulation import World, simulate

    catalogue = load_catalogue()
    job = [
        c for c in catalogue.intervention_codes if catalogue.interventions[c].family in JOB_FAMILIES
    ]

    def fitted(train, sensitive):
        points = decision_points(train["persons"], train["episodes"], include_sensitive=sensitive)
        model = make_learner("s", random_state=seed, n_jobs=n_jobs)
        model.fit(points.features, points.treatment, points.outcome, points.keys["person_id"])
        return CachedPredictions(model)

    rows = []
    train, test = split(simulate(size, seed=seed, preset="gender_neutral"), seed)
    blind = fitted(train, False)
    recs = recommend_for_decisions(blind, test["persons"], test["episodes"])
    rows.append(audit_row("neutral", size, seed, "blind", test, recs, blind, thresholds))
    for rule in ("region", "age"):
        tables = relabel(test, rule, seed)
        kept = recs[recs["person_id"].isin(tables["persons"]["person_id"])]
        rows.append(
            audit_row(f"neutral_{rule}", size, seed, "blind", tables, kept, blind, thresholds)
        )
    rows.append(
        audit_row(
            "withholding",
            size,
            seed,
            "blind",
            test,
            withheld(recs, test),
            blind,
            thresholds,
            ("recommender", job),
        )
    )
    if aware:
        model = fitted(train, True)
        mine = recommend_for_decisions(model, test["persons"], test["episodes"])
        rows.append(audit_row("neutral", size, seed, "aware", test, mine, model, thresholds))

    world = World.from_preset("gender_neutral", overrides=CONFOUNDED)
    train, test = split(simulate(size, seed=seed, world=world), seed)
    blind = fitted(train, False)
    recs = recommend_for_decisions(blind, test["persons"], test["episodes"])
    rows.append(audit_row("neutral_confounded", size, seed, "blind", test, recs, blind, thresholds))

    # Caseworkers' choices do not depend on the split: their audit reads every person, as
    # `adapt audit --data` does; the recommender's choices there are the blind learner's.
    everyone = simulate(size, seed=seed, preset="gender_bias")
    train, _ = split(everyone, seed)
    blind = fitted(train, False)
    recs = recommend_for_decisions(blind, everyone["persons"], everyone["episodes"])
    rows.append(
        audit_row(
            "gender_bias",
            size,
            seed,
            "blind",
            everyone,
            recs,
            blind,
            thresholds,
            ("behaviour", job),
        )
    )
    return rows


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    from scipy.stats import beta

    alpha = 1 - level
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


def rate(flags) -> str:
    k, n = int(np.sum(flags)), len(flags)
    low, high = clopper_pearson(k, n)
    return f"{k}/{n} = {k / n:.3f} [{low:.3f}, {high:.3f}]"


def summary_table(rows: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (world, size, learner), group in rows.groupby(["world", "persons", "learner"], sort=False):
        detection = "caught" in group and group["caught"].notna().all()
        alarms = group["recommender failed"].map(bool)
        out.append(
            {
                "world": world,
                "persons": size,
                "learner": learner,
                "audits": len(group),
                "kind": "detection" if detection else "null",
                "gate failed (recommender)": rate(alarms),
                "caught": rate(group["caught"].astype(bool)) if detection else "-",
                "behaviour failed": rate(group["behaviour failed"].map(bool)),
                "judged / audit": float(group["judged"].mean()),
                "cannot judge / audit": float(group["cannot judge"].mean()),
                "flip changed": float(group["flip"].mean()),
                "audit s": float(group["audit s"].mean()),
            }
        )
    return pd.DataFrame(out)


def failing_table(rows: pd.DataFrame) -> pd.DataFrame:
    records = []
    for row in rows.to_dict("records"):
        for subject in ("recommender", "behaviour"):
            for name in row[f"{subject} failed"]:
                records.append(
                    {
                        "world": row["world"],
                        "persons": row["persons"],
                        "learner": row["learner"],
                        "subject": subject,
                        "check": name,
                    }
                )
    if not records:
        return pd.DataFrame(columns=["world", "persons", "learner", "subject", "check", "audits"])
    table = pd.DataFrame(records)
    return table.groupby(list(table.columns), sort=False).size().rename("audits").reset_index()


def commit() -> str:
    def git(*a):
        return subprocess.run(
            ["git", *a], capture_output=True, text=True, cwd=Path(__file__).parent
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (
        "+dirty" if git("status", "--porcelain", "--untracked-files=no", "../adapt") else ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[3000, 20_000])
    parser.add_argument("--seeds", nargs="+", type=int, default=list(range(1, 21)))
    parser.add_argument("--aware-seeds", type=int, default=5, help="seeds with the aware learner")
    parser.add_argument(
        "--large-seeds", type=int, default=10, help="seeds for sizes of 10,000 persons or more"
    )
    parser.add_argument("--n-jobs", type=int, default=1, help="LightGBM threads")
    parser.add_argument("--quick", action="store_true", help="3,000 persons, seeds 1 and 2")
    parser.add_argument("--out", type=Path, default=None, help=f"Markdown (default {RESULTS})")
    parser.add_argument("--thresholds", type=Path, default=None, help="Audit thresholds YAML")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.seeds = [3000], [1, 2]
    out = args.out if args.out is not None else (None if args.quick else RESULTS)

    from adapt.fairness import load_thresholds

    thresholds = load_thresholds(args.thresholds)
    code = commit()  # the code the run imported, before anyone edits it
    load_before, started = os.getloadavg()[0], time.perf_counter()
    rows = []
    for size in args.sizes:
        seeds = args.seeds[: args.large_seeds] if size >= 10_000 else args.seeds
        for i, seed in enumerate(seeds):
            rows += run_seed(size, seed, thresholds, args.n_jobs, i < args.aware_seeds)
    wall = time.perf_counter() - started
    table = pd.DataFrame(rows)
    null = table[table["world"].str.startswith("neutral") & (table["learner"] == "blind")]
    header = (
        f"## Gender audit: false alarms and detection (`benchmarks/bench_fairness.py`, "
        f"{date.today()})\n\n"
        f"Persons per world: {', '.join(f'{s:,}' for s in args.sizes)}; seeds "
        f"{args.seeds[0]}..{args.seeds[-1]} ({len(args.seeds)}; the first {args.large_seeds} "
        "at 10,000 persons or more); 70/30 split by person; "
        f"gender-blind S-learner (default settings, n_jobs={args.n_jobs}); the aware learner on "
        f"the first {args.aware_seeds} seeds. Thresholds: "
        + ", ".join(f"{k} {v}" for k, v in thresholds.items())
        + f". Code: {code}. Whole run {wall / 60:.1f} min on {os.cpu_count()} CPUs "
        f"({platform.machine()}), 1-min load average {load_before:.1f} at the start and "
        f"{os.getloadavg()[0]:.1f} at the end (audit times are inflated by other load; the "
        "counts do not depend on it)."
    )
    sections = [
        header,
        f"**Family-wise false-alarm rate of the gate** (null worlds, gender-blind learner, audits "
        f"with a failed check on the recommender): {rate(null['recommender failed'].map(bool))}; "
        f"behaviour checks in the same audits: {rate(null['behaviour failed'].map(bool))}.",
        "### Per world and size\n\n`gate failed`: audits whose verdict is failed; `caught`: "
        "audits where a check on a planted intervention failed; `judged / audit`: recommender "
        "checks judged; `cannot judge`: recommender checks with too few recommendations.\n\n"
        + markdown(summary_table(table)),
        "### Which checks failed\n\n" + markdown(failing_table(table)),
    ]
    text = "\n\n".join(sections) + "\n"
    print("\n" + text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, "utf-8")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()

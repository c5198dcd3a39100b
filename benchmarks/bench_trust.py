"""Can the learners' estimates and intervals be trusted? Measured against the simulator's truth.

    .venv/bin/python benchmarks/bench_trust.py              # 20k persons, 2 presets x 3 seeds
    .venv/bin/python benchmarks/bench_trust.py --presets default --seeds 1 --n-persons 5000

For every preset and seed: simulate, build decision points, split 70/30 by person, fit each learner
on the training persons and judge it on the test persons' decision points:

- regret closure of "recommend the highest estimate" (true values);
- coverage of the true progression probability by `predict_interval` at 80/90/95 %, over every
  (decision point, offered intervention) cell, and the mean width at 90 %;
- coverage at 90 % of the true uplift over current practice by `predict_uplift_interval`;
- RMSE of the estimates against the truth and fit time;
- the same coverage at 90 % of the *recorded-information truth*: what the best possible model
  of the records would say, approximated per world by a large LightGBM model fitted on the
  training persons' true probabilities (`best_rmse` is its RMSE against the truth: the part of
  a person's true probability that no model of the records can know).

The table gives the mean over seeds per preset and learner; `--out` writes every row as CSV.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("GOMP_SPINCOUNT", "10000")  # see bench_learners.py

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

LEVELS = (0.8, 0.9, 0.95)


def split_by_person(points, seed: int, train_share: float = 0.7):
    persons = np.random.default_rng(seed).permutation(points.keys["person_id"].unique())
    train = points.keys["person_id"].isin(persons[: round(train_share * len(persons))]).to_numpy()
    return points.take(np.flatnonzero(train)), points.take(np.flatnonzero(~train))


def best_from_records(train, test, truth, interventions, n_jobs: int) -> np.ndarray:
    """Approximate E[true p | records] on the test cells with a model fitted on the truth."""
    import lightgbm as lgb

    from adapt.evaluation import truth_matrix
    from adapt.models._arms import with_arm

    def cells(points):
        values = truth_matrix(truth, points.keys, interventions).to_numpy(float)
        rows, arms = np.nonzero(~np.isnan(values))
        return with_arm(points.features.iloc[rows], arms, interventions), values, rows, arms

    X, values, rows, arms = cells(train)
    model = lgb.LGBMRegressor(
        n_estimators=600,
        learning_rate=0.05,
        num_leaves=63,
        min_child_samples=20,
        n_jobs=n_jobs,
        verbose=-1,
    ).fit(X, values[rows, arms])
    X, values, rows, arms = cells(test)
    best = np.full(values.shape, np.nan)
    best[rows, arms] = model.predict(X)
    return best


def judge(model, test, truth, best) -> dict[str, float]:
    from adapt.evaluation import compare_policies, interval_coverage, truth_matrix
    from adapt.policies import choose_best

    true_p = truth_matrix(truth, test.keys, model.interventions_)
    p = model.predict(test.features)
    row = {}
    for level in LEVELS:
        lower, upper = model.predict_interval(test.features, level=level)
        coverage = interval_coverage(lower, upper, true_p)
        row[f"cover_{round(level * 100)}"] = coverage.coverage
        if level == 0.9:
            row["width_90"] = coverage.mean_width
            row["zero_width"] = coverage.zero_width
            row["records_cover_90"] = interval_coverage(lower, upper, best).coverage
    e = model.behaviour_probabilities(test.features).to_numpy()
    t = true_p.to_numpy(float)
    true_uplift = t - np.nansum(np.where(e > 0, e * t, 0), axis=1, keepdims=True)
    lo, hi = model.predict_uplift_interval(test.features, level=0.9)
    row["uplift_cover_90"] = interval_coverage(lo, hi, true_uplift).coverage
    row["rmse"] = float(np.sqrt(np.nanmean((p.to_numpy(float) - t) ** 2)))
    row["best_rmse"] = float(np.sqrt(np.nanmean((best - t) ** 2)))
    choices = choose_best(p).to_numpy()
    table = compare_policies({"m": choices}, true_p, test.treatment.to_numpy(), n_bootstrap=0)
    row["regret_closure"] = float(table.loc["m", "regret_closure"])
    return row


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table: text left, numbers right with three decimals."""
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame]
    lines = ["| " + " | ".join(frame.columns) + " |"]
    lines.append("|" + "".join("---:|" if n else ":---|" for n in numeric))
    for values in frame.itertuples(index=False):
        cells = [f"{v:.3f}" if n else str(v) for v, n in zip(values, numeric, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["default", "order_effects"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--learners", nargs="+", default=["s", "t", "x", "dr"])
    parser.add_argument("--n-persons", type=int, default=20_000)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default=None, help="CSV of every (preset, seed, learner) row")
    args = parser.parse_args()

    from adapt.catalogue import load_catalogue
    from adapt.features import decision_points
    from adapt.models import make_learner
    from adapt.simulation import simulate

    rows = []
    for preset in args.presets:
        for seed in args.seeds:
            data = simulate(args.n_persons, seed=seed, preset=preset)
            train, test = split_by_person(decision_points(data["persons"], data["episodes"]), seed)
            best = best_from_records(
                train, test, data["truth"], list(load_catalogue().intervention_codes), args.n_jobs
            )
            for name in args.learners:
                model = make_learner(name, random_state=seed, n_jobs=args.n_jobs)
                start = time.perf_counter()
                model.fit(train.features, train.treatment, train.outcome, train.keys["person_id"])
                fit_s = time.perf_counter() - start
                row = {"preset": preset, "seed": seed, "learner": name, "fit_s": fit_s}
                row.update(judge(model, test, data["truth"], best))
                rows.append(row)
                print(
                    f"{preset} seed {seed} {name}: RC {row['regret_closure']:.3f} "
                    f"cover90 {row['cover_90']:.3f} width {row['width_90']:.3f} "
                    f"fit {fit_s:.1f}s",
                    flush=True,
                )
    frame = pd.DataFrame(rows)
    if args.out:
        frame.to_csv(args.out, index=False)
    columns = [
        "regret_closure",
        "cover_80",
        "cover_90",
        "cover_95",
        "width_90",
        "zero_width",
        "records_cover_90",
        "uplift_cover_90",
        "rmse",
        "best_rmse",
        "fit_s",
    ]
    summary = frame.groupby(["preset", "learner"], sort=False)[columns].mean()
    print(f"\nMean over seeds {args.seeds}, {args.n_persons:,} persons, 70/30 by person\n")
    print(markdown(summary.reset_index()))


if __name__ == "__main__":
    main()

"""Does a feature reveal the choice? The behaviour model's probabilities against the true ones.

    .venv/bin/python benchmarks/bench_leak.py --presets default order_effects --seeds 1 2 3

The simulator is run with a chooser that makes exactly the caseworkers' draw (same random
numbers) and records their true choice probabilities. A learner's behaviour model, fitted on
70 % of the persons, is then read on the others' decision points. Where an episode started
before the previous one ended (only coordination may), a start-day feature would say which arm
was chosen: the learned probability of the observed arm runs far above the true one there.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GOMP_SPINCOUNT", "10000")  # see bench_learners.py

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def simulate_with_true_propensities(n_persons: int, seed: int, preset: str):
    """Tables of the behaviour policy's run, and its probabilities per (person, episode)."""
    from adapt.simulation import World
    from adapt.simulation._dynamics import Dynamics
    from adapt.simulation._engine import _CHOICE, simulate_slice
    from adapt.simulation._random import CounterRNG
    from adapt.simulation._tables import to_arrow

    world = World.from_preset(preset)
    dynamics, rng, recorded = Dynamics(world), CounterRNG(seed), []

    def caseworker(ctx):
        probs = dynamics.behaviour_probabilities(ctx.population, ctx.state)
        k = int(ctx.episode_no[0])
        recorded.append((ctx.population.index, k, probs))
        return rng.choice(ctx.population.index, _CHOICE, probs, episode=k)

    sim = simulate_slice(world, seed, np.arange(n_persons), chooser=caseworker, record_truth=False)
    tables = {k: t.to_pandas() for k, t in to_arrow(world, sim).items()}
    ids = tables["persons"]["person_id"].to_numpy()
    frames = [
        pd.DataFrame(probs, columns=list(world.interventions)).assign(
            person_id=ids[index], episode_no=k
        )
        for index, k, probs in recorded
    ]
    return tables["persons"], tables["episodes"], pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["default", "order_effects"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--n-persons", type=int, default=20_000)
    args = parser.parse_args()

    from adapt.features import decision_points
    from adapt.models import make_learner

    rows = []
    for preset in args.presets:
        for seed in args.seeds:
            persons, episodes, true_e = simulate_with_true_propensities(
                args.n_persons, seed, preset
            )
            points = decision_points(persons, episodes)
            ids = np.random.default_rng(seed).permutation(points.keys["person_id"].unique())
            train = points.keys["person_id"].isin(ids[: round(0.7 * len(ids))]).to_numpy()
            fit, test = points.take(np.flatnonzero(train)), points.take(np.flatnonzero(~train))
            model = make_learner("s", n_bags=1, random_state=seed, n_jobs=2)
            model.fit(fit.features, fit.treatment, fit.outcome, fit.keys["person_id"])
            learned = model.behaviour_probabilities(test.features).to_numpy()
            truth = test.keys.merge(true_e, on=["person_id", "episode_no"], how="left")[
                model.interventions_
            ].to_numpy(float)
            ep = test.keys.merge(episodes, on=["person_id", "episode_no"], how="left")
            previous_end = ep.groupby("person_id")["end_day"].shift(1)
            overlap = (ep["start_day"] < previous_end).to_numpy()
            chosen = pd.Index(model.interventions_).get_indexer(test.treatment.astype(str))
            r = np.arange(len(test))
            offered = truth > 0
            rows.append(
                {
                    "preset": preset,
                    "seed": seed,
                    "overlap_share": overlap.mean(),
                    "learned_e_observed_overlap": learned[r, chosen][overlap].mean(),
                    "true_e_observed_overlap": truth[r, chosen][overlap].mean(),
                    "learned_min_e": np.where(offered, learned, np.inf).min(axis=1).mean(),
                    "true_min_e": np.where(offered, truth, np.inf).min(axis=1).mean(),
                    "rmse_e": np.sqrt(np.mean((learned - truth)[offered] ** 2)),
                }
            )
            print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    print("\nMean over seeds; e: behaviour probability, observed arm at rows that overlap\n")
    summary = frame.groupby("preset", sort=False).mean(numeric_only=True).drop(columns="seed")
    print("| preset | " + " | ".join(summary.columns) + " |")
    print("|:---|" + "---:|" * len(summary.columns))
    for preset, values in summary.iterrows():
        print(f"| {preset} | " + " | ".join(f"{v:.3f}" for v in values) + " |")


if __name__ == "__main__":
    main()

"""k-step plans against the truth: planner, greedy chains, offline RL, the oracle.

    .venv/bin/python benchmarks/bench_planning.py                      # 100k persons, 3 worlds
    .venv/bin/python benchmarks/bench_planning.py --n-persons 20000 --presets default --peer none

For every world: simulate, split 70/30 by person, fit the S-learner, the sequence learner,
`AutoLearner` (which plans with its choice) and d3rlpy's offline peer (it needs the ``bench``
extra) on the training persons. Starts are drawn
from the test persons (each just before one of their recorded episodes, `Oracle.start_states`).
From the same starts, every method runs k episodes; V is the true expected steps gained:

- exact (`Oracle.plan_values`) for open-loop plans (the planner, greedy chains, the best plan);
- Monte-Carlo with common random numbers (`Oracle.closed_loop_values`, one fresh seed shared by
  every method) for policies that decide after each episode (behaviour, random, greedy one-step
  policies, the re-planning planner, d3rlpy, the oracle's one-step policy).

Plan-gain closure = (V - V(behaviour)) / (V(best plan) - V(behaviour)). Also printed: each
learner's next-step regret closure on the test decision points, planning speed and memory.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("GOMP_SPINCOUNT", "10000")  # see bench_learners.py

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_trust import markdown  # noqa: E402


class PeakMemory:
    """Peak resident memory (MB) of this process while the block runs, sampled every 20 ms."""

    def __enter__(self):
        self.peak, self._running = _rss_mb(), True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while self._running:
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.02)

    def __exit__(self, *exc):
        self._running = False
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(fn):
    with PeakMemory() as memory:
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
    return out, seconds, memory.peak


def random_policy(seed: int):
    rng = np.random.default_rng(seed)

    def choose(batch):
        offered = batch.available.to_numpy()
        u = rng.random(offered.shape) * offered
        return np.asarray(batch.available.columns)[u.argmax(axis=1)]

    return choose


def next_step_regret_closure(model, test, truth) -> float:
    from adapt.evaluation import compare_policies, truth_matrix
    from adapt.policies import choose_best

    columns = list(model.feature_names_in_)
    true_p = truth_matrix(truth, test.keys, model.interventions_)
    choices = choose_best(model.predict(test.features[columns])).to_numpy()
    table = compare_policies({"m": choices}, true_p, test.treatment.to_numpy(), n_bootstrap=0)
    return float(table.loc["m", "regret_closure"])


def one_world(preset: str, args) -> tuple[pd.DataFrame, dict]:
    from adapt.evaluation import plan_gain_closure, repeatable_flags
    from adapt.features import decision_points
    from adapt.models import make_learner
    from adapt.pipeline import fitted_learner
    from adapt.planning import Planner, StepTransitions
    from adapt.selection import AutoLearner
    from adapt.simulation import Oracle, World, simulate

    seed, k = args.seed, args.k
    world = World.from_preset(preset)
    data = simulate(args.n_persons, seed=seed, world=world)
    persons, episodes = data["persons"], data["episodes"]
    ids = np.random.default_rng(seed).permutation(persons["person_id"].to_numpy())
    train_ids = set(ids[: round(0.7 * len(ids))])
    is_train = persons["person_id"].isin(train_ids)
    train_p, test_p = persons[is_train], persons[~is_train]
    train_e = episodes[episodes["person_id"].isin(train_ids)]
    test_e = episodes[~episodes["person_id"].isin(train_ids)]

    ordered = decision_points(persons, episodes, history="ordered")
    in_train = ordered.keys["person_id"].isin(train_ids).to_numpy()
    train, test = ordered.take(np.flatnonzero(in_train)), ordered.take(np.flatnonzero(~in_train))
    models, fit_s, regret = {}, {}, {}
    columns = list(decision_points(persons.head(3), episodes.head(0)).features.columns)
    for name in ("s", "sequence", "auto"):
        if name == "auto":
            model = AutoLearner(random_state=seed, n_jobs=args.n_jobs)
        else:
            model = make_learner(name, random_state=seed, n_jobs=args.n_jobs)
        X = train.features if model.history == "ordered" else train.features[columns]
        _, fit_s[name], _ = timed(
            lambda m=model, X=X: m.fit(X, train.treatment, train.outcome, train.keys["person_id"])
        )
        # auto plans with what it chose, refitted on all training persons
        models[name] = fitted_learner(model)
        if name == "auto":
            auto_pick = model.best_candidate_ + (" (fallback)" if model.fallback_ else "")
        regret[name] = next_step_regret_closure(models[name], test, data["truth"])
        print(f"  {preset}: {name} fitted in {fit_s[name]:.0f}s, RC {regret[name]:.3f}", flush=True)
    transitions = StepTransitions.fit(train_e)

    oracle = Oracle(world, seed=seed)
    start = oracle.start_states(test_p, test_e, seed=seed)
    start = start.take(np.random.default_rng(seed).permutation(len(start))[: args.starts])
    mc_seed = seed + 7919  # one fresh seed for every closed-loop method: common random numbers

    def closed(policy):
        return lambda: oracle.closed_loop_values(start, policy, k, seed=mc_seed)

    def open_loop(planner):
        def run():
            plans = planner.search(start.persons, start.history, start.step, k=k)
            return oracle.plan_values(start, plans.interventions)

        return run

    def planner(name, width):
        return Planner(models[name], transitions, k=k, beam_width=width)

    methods = {
        "behaviour": (closed("behaviour"), 0.0),
        "random": (closed(random_policy(seed)), 0.0),
        "greedy S (closed loop)": (
            closed(Planner(models["s"], transitions, k=1).policy()),
            fit_s["s"],
        ),
        "greedy S chain (open loop)": (open_loop(planner("s", 1)), fit_s["s"]),
        "greedy sequence (closed loop)": (
            closed(Planner(models["sequence"], transitions, k=1).policy()),
            fit_s["sequence"],
        ),
        "greedy sequence chain (open loop)": (open_loop(planner("sequence", 1)), fit_s["sequence"]),
        f"planner S, beam {args.beam_width} (open loop)": (
            open_loop(planner("s", args.beam_width)),
            fit_s["s"],
        ),
        f"planner sequence, beam {args.beam_width} (open loop)": (
            open_loop(planner("sequence", args.beam_width)),
            fit_s["sequence"],
        ),
        "greedy auto chain (open loop)": (open_loop(planner("auto", 1)), fit_s["auto"]),
        f"planner auto, beam {args.beam_width} (open loop)": (
            open_loop(planner("auto", args.beam_width)),
            fit_s["auto"],
        ),
        f"planner sequence, beam {args.beam_width} (closed loop)": (
            closed(planner("sequence", args.beam_width).policy()),
            fit_s["sequence"],
        ),
    }
    if args.peer != "none":
        from _d3rlpy_peer import fit_offline_peer

        peer, peer_fit, _ = timed(
            lambda: fit_offline_peer(train_p, train_e, algorithm=args.peer, seed=seed)
        )
        methods[f"d3rlpy {args.peer.upper()} (closed loop)"] = (closed(peer.policy()), peer_fit)
    methods["oracle one-step (closed loop)"] = (closed(oracle.greedy_policy()), 0.0)
    repeatable = repeatable_flags(models["s"].catalogue or _catalogue())
    methods["best plan (oracle, exhaustive)"] = (
        lambda: oracle.best_plans(start, k, repeatable=repeatable)[1],
        0.0,
    )

    rows = []
    for name, (run, fit) in methods.items():
        values, seconds, peak = timed(run)
        rows.append(
            {
                "method": name,
                "V": float(np.mean(values)),
                "se": float(np.std(values, ddof=1) / np.sqrt(len(values))),
                "fit_s": fit,
                "plan_s": seconds,
                "persons_per_s": len(start) / seconds,
                "peak_mb": peak,
            }
        )
        print(f"  {preset}: {name}: V {rows[-1]['V']:.3f} in {seconds:.1f}s", flush=True)
    table = pd.DataFrame(rows)
    behaviour = table.loc[table["method"] == "behaviour", "V"].item()
    best = table.loc[table["method"].str.startswith("best plan"), "V"].item()
    table.insert(3, "closure", [plan_gain_closure(v, behaviour, best) for v in table["V"]])
    one = time_one_person(planner("sequence", args.beam_width), start)
    facts = {
        "preset": preset,
        "starts": len(start),
        "rc_s": regret["s"],
        "rc_sequence": regret["sequence"],
        "rc_auto": regret["auto"],
        "auto_pick": auto_pick,
        "one_person_ms": one,
    }
    return table, facts


def time_one_person(planner, start, n: int = 20) -> float:
    """Median milliseconds to plan for one person alone."""
    times = []
    for row in range(n):
        one = start.take([row])
        begin = time.perf_counter()
        planner.search(one.persons, one.history, one.step)
        times.append(time.perf_counter() - begin)
    return 1000 * float(np.median(times))


def _catalogue():
    from adapt.catalogue import load_catalogue

    return load_catalogue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["default", "order_effects", "order_pairs"])
    parser.add_argument("--n-persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--starts", type=int, default=3000, help="Test starts judged")
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--peer", choices=["cql", "bcq", "none"], default="bcq")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default=None, help="CSV of every (preset, method) row")
    args = parser.parse_args()

    tables, facts = [], []
    for preset in args.presets:
        print(f"{preset}: {args.n_persons:,} persons, seed {args.seed}", flush=True)
        table, fact = one_world(preset, args)
        tables.append(table.assign(preset=preset))
        facts.append(fact)
        print(f"\n### {preset}, k = {args.k}, {fact['starts']:,} test starts\n")
        print(markdown(table))
        print(
            f"\nnext-step regret closure: S {fact['rc_s']:.3f}, sequence "
            f"{fact['rc_sequence']:.3f}, auto ({fact['auto_pick']}) {fact['rc_auto']:.3f}; "
            f"one person's plan: {fact['one_person_ms']:.0f} ms\n",
            flush=True,
        )
    if args.out:
        pd.concat(tables).to_csv(args.out, index=False)
    print(markdown(pd.DataFrame(facts)))


if __name__ == "__main__":
    main()

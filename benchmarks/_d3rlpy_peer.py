"""An offline-RL peer for the planning benchmark: d3rlpy's discrete CQL or BCQ on decision points.

Every recorded episode is one transition of a per-person Markov decision process:

- state: the decision point's features (`adapt.features.decision_points`), numerically encoded;
- action: the intervention chosen, as its index in the catalogue's intervention codes;
- reward: the steps gained on the ladder in that episode (``step_after - step_before``, which
  may be negative);
- episode: one per person, terminal at their last recorded episode.

The peer learns Q(state, intervention) offline and recommends, at each decision, the offered
intervention with the highest Q. It needs the ``bench`` extra (d3rlpy and torch) and trains on
the CPU. Run this file as a script for a smoke check on a generated data folder::

    .venv/bin/adapt generate --n-persons 20000 --seed 3 --out /tmp/d3/data
    .venv/bin/python benchmarks/_d3rlpy_peer.py /tmp/d3/data --algorithm bcq --closed-loop 3 \
        --data-seed 3
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from adapt.catalogue import load_catalogue
from adapt.features import decision_points

ALGORITHMS = ("cql", "bcq")
# Gamma 0.9: a person's record holds a handful of episodes (median 3, at most ~8 here), so a
# horizon of ~10 decisions covers it while keeping the bootstrapped targets well conditioned.
GAMMA = 0.9
# 20k updates at 70k persons (~180k transitions): ~170 s CPU for CQL and for BCQ, 3-5 min of
# wall time on two shared cores; peak RSS ~1.5 GB, ~0.9 GB of it importing torch and d3rlpy.
DEFAULT_N_STEPS = 20_000
HIDDEN_UNITS = (64, 64)
BATCH_SIZE = 256
# d3rlpy's defaults (lr 6.25e-5, target sync every 8000 updates) are tuned for Atari and millions
# of updates; with tens of thousands of updates a larger step and a faster sync are needed.
LEARNING_RATE = 3e-4
TARGET_UPDATE_INTERVAL = 1_000
MISSING = -1.0


def encode(
    features: pd.DataFrame, columns: list[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """A float32 matrix of `features`: categoricals one-hot, numbers as they are, NaN -> -1.

    Without `columns`, the columns are those the frame yields, in its column order (one-hot
    columns named ``name=level`` in category order). With `columns` (as returned by an earlier
    call) the output has exactly those columns in that order: a level missing from this frame's
    categories is a column of zeros, a level the training frame did not have is dropped, so a
    model sees its training layout. A numeric column that `columns` names but `features` lacks
    raises KeyError.
    """
    parts: dict[str, np.ndarray] = {}
    for name in features.columns:
        values = features[name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            levels = values.cat.categories
        elif pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            levels = None
        else:  # strings: one-hot over the values seen (sorted, so the order is stable)
            levels = pd.Index(sorted(values.dropna().unique()))
        if levels is None:
            numbers = values.to_numpy(dtype=float, na_value=np.nan)
            parts[name] = np.where(np.isnan(numbers), MISSING, numbers)
        else:
            as_str = values.astype("object")
            for level in levels:
                parts[f"{name}={level}"] = (as_str == level).to_numpy(dtype=float)
    if columns is None:
        columns = list(parts)
    lacking = [c for c in columns if c not in parts]
    n = len(features)
    out = np.empty((n, len(columns)), dtype=np.float32)
    for j, column in enumerate(columns):
        if column in parts:
            out[:, j] = parts[column]
        elif "=" in column and column.split("=", 1)[0] in features.columns:
            out[:, j] = 0.0  # a level this frame does not have
        else:
            raise KeyError(f"features lack column {column!r} (lacking: {lacking[:5]})")
    return out, list(columns)


def build_transitions(persons: pd.DataFrame, episodes: pd.DataFrame, catalogue=None) -> dict:
    """The offline data set as arrays: one row per recorded episode, persons' episodes in order.

    Returns a dict with ``features`` (DataFrame), ``keys`` (person_id, episode_no), ``actions``
    (intervention index), ``rewards`` (steps gained) and ``terminals`` (1 at each person's last
    recorded episode). Persons still 'ongoing' are cut there too: their next decision is not in
    the data, so their future is valued 0, which undervalues the arms such persons took last (a
    timeout instead would make d3rlpy drop that last transition altogether).
    """
    catalogue = catalogue or load_catalogue()
    codes = list(catalogue.intervention_codes)
    points = decision_points(persons, episodes, catalogue)
    keys = points.keys.reset_index(drop=True)
    gained = episodes.assign(
        _gain=episodes["step_after"].astype(np.int64) - episodes["step_before"].astype(np.int64)
    )[["person_id", "episode_no", "_gain"]]
    rewards = keys.merge(gained, on=["person_id", "episode_no"], how="left")["_gain"]
    if rewards.isna().any():
        raise ValueError("decision points without a matching episode")
    actions = pd.Index(codes).get_indexer(points.treatment.astype("object"))
    if (actions < 0).any():
        raise ValueError(f"unknown interventions: {set(points.treatment[actions < 0])}")
    person = keys["person_id"].to_numpy()
    # decision_points sorts by (person_id, episode_no): a person's last row is where the id
    # changes, and rows are consecutive per person as d3rlpy's episode splitting needs.
    terminals = np.r_[person[1:] != person[:-1], True].astype(np.float32)
    return {
        "features": points.features,
        "keys": keys,
        "actions": actions.astype(np.int64),
        "rewards": rewards.to_numpy(np.float32),
        "terminals": terminals,
    }


@dataclass
class OfflinePeer:
    """A fitted offline Q-learner and the encoding its inputs need.

    Attributes
    ----------
    algo : d3rlpy DiscreteCQL or DiscreteBCQ
    algorithm : "cql" or "bcq"
    columns : encoded feature columns, in training order
    mean, scale : standardisation of the encoded features (fitted on the training rows)
    codes : the catalogue's intervention codes (action index -> code)
    """

    algo: object
    algorithm: str
    columns: list[str]
    mean: np.ndarray
    scale: np.ndarray
    codes: tuple[str, ...]

    def _inputs(self, features: pd.DataFrame) -> np.ndarray:
        x, _ = encode(features, self.columns)
        return ((x - self.mean) / self.scale).astype(np.float32)

    def q_values(self, features: pd.DataFrame) -> np.ndarray:
        """Q(state, a) for every intervention a: an array (rows, n_interventions)."""
        x = self._inputs(features)
        q = np.empty((len(x), len(self.codes)), dtype=np.float64)
        for a in range(len(self.codes)):
            q[:, a] = self.algo.predict_value(x, np.full(len(x), a, dtype=np.int64))
        return q

    def _eligible(self, features: pd.DataFrame, available: np.ndarray) -> np.ndarray:
        """The arms greedy choice may take: offered ones, and for BCQ only the imitable ones.

        BCQ's own `predict` keeps actions whose behaviour probability is at least
        `action_flexibility` times the most likely one; we apply that rule within the offered
        arms, so BCQ stays close to what caseworkers did there.
        """
        if self.algorithm != "bcq":
            return available
        import torch

        with torch.no_grad():
            logits = self.algo.impl.modules.imitator(torch.from_numpy(self._inputs(features)))
            logits = logits.logits.numpy().astype(np.float64)
        logits = np.where(available, logits, -np.inf)
        ratio = logits - logits.max(axis=1, keepdims=True)
        return available & (ratio > math.log(self.algo.config.action_flexibility))

    def choose(self, features: pd.DataFrame, available: np.ndarray) -> np.ndarray:
        """The greedy intervention code per row among those offered (`available`, bool)."""
        available = np.asarray(available, dtype=bool)
        if available.shape != (len(features), len(self.codes)):
            raise ValueError(f"available must be (rows, {len(self.codes)}), got {available.shape}")
        empty = ~available.any(axis=1)
        if empty.any():
            raise ValueError(f"no intervention offered on rows {np.flatnonzero(empty)[:5]}")
        q = np.where(self._eligible(features, available), self.q_values(features), -np.inf)
        return np.asarray(self.codes, dtype=object)[q.argmax(axis=1)]

    def value(self, features: pd.DataFrame, available: np.ndarray) -> np.ndarray:
        """The estimated reward-to-go of the greedy choice: Q of `choose`'s arm per row."""
        available = np.asarray(available, dtype=bool)
        q = np.where(self._eligible(features, available), self.q_values(features), -np.inf)
        return q.max(axis=1)

    def policy(self) -> Callable:
        """A callable for closed-loop rollouts: ``policy(batch) -> list of codes``.

        `batch` has ``.persons`` (one row per deciding person), ``.history`` (their earlier
        episodes), ``.step`` (the step each stands on) and ``.available`` (bool DataFrame with the
        intervention codes as columns).
        """
        codes = list(self.codes)

        def policy(batch) -> list[str]:
            # Imported here: it is newer than decision_points, and only rollouts need it.
            from adapt.features import next_decision_points

            points = next_decision_points(batch.persons, batch.history, current_step=batch.step)
            available = batch.available.reindex(columns=codes, fill_value=False)
            return list(self.choose(points.features, available.to_numpy(dtype=bool)))

        return policy


def _config(algorithm: str, gamma: float):
    import d3rlpy

    common = {
        "encoder_factory": d3rlpy.models.VectorEncoderFactory(hidden_units=list(HIDDEN_UNITS)),
        "batch_size": BATCH_SIZE,
        "gamma": gamma,
        "learning_rate": LEARNING_RATE,
        "target_update_interval": TARGET_UPDATE_INTERVAL,
    }
    if algorithm == "cql":
        return d3rlpy.algos.DiscreteCQLConfig(**common)
    if algorithm == "bcq":
        return d3rlpy.algos.DiscreteBCQConfig(**common)
    raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")


def fit_offline_peer(
    persons: pd.DataFrame,
    episodes: pd.DataFrame,
    algorithm: str = "bcq",
    n_steps: int = DEFAULT_N_STEPS,
    seed: int = 0,
    gamma: float = GAMMA,
    show_progress: bool = False,
    fast_sampling: bool = True,
) -> OfflinePeer:
    """Fit discrete BCQ ("bcq") or discrete CQL ("cql") offline on the persons' episodes, on CPU.

    BCQ is the default: at 70k training persons (default world, 20k updates, two seeds) it beat
    CQL both on the true progress probability of the next episode (0.689 / 0.683 against
    0.677 / 0.672) and on steps gained over 3 simulated episodes, closed loop from held-out
    starts (2.25 / 2.20 against 2.19 / 2.17; the behaviour 1.88 / 1.87, uniform 1.56 / 1.55).

    `n_steps` gradient updates of mini-batches of 256 transitions, drawn uniformly; everything
    random is seeded from `seed`. With `fast_sampling` (the default) the mini-batches are cut
    from the arrays directly and passed to ``algo.update``: the same transitions d3rlpy's
    ``fit`` would draw (next state zero after a terminal), but d3rlpy picks them one by one in
    Python, which costs more than the update itself on this data (~8 ms vs ~5 ms a step).
    ``fast_sampling=False`` uses ``algo.fit`` as it is. Sets torch to one thread (process-wide).
    """
    import d3rlpy
    import torch

    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    catalogue = load_catalogue()
    codes = catalogue.intervention_codes
    data = build_transitions(persons, episodes, catalogue)
    x, columns = encode(data["features"])
    mean = x.mean(axis=0)
    # Constant columns (a level nobody has) keep scale 1 rather than dividing by 0.
    scale = np.where(x.std(axis=0) > 1e-6, x.std(axis=0), 1.0).astype(np.float32)
    x = ((x - mean) / scale).astype(np.float32)

    d3rlpy.seed(seed)  # python, numpy and torch generators; d3rlpy samples batches with numpy
    torch.use_deterministic_algorithms(True, warn_only=True)
    # One thread: the networks are tiny, so a second thread buys little and contends with
    # whatever else runs on a small machine.
    torch.set_num_threads(1)
    dataset = d3rlpy.dataset.MDPDataset(
        observations=x,
        actions=data["actions"],
        rewards=data["rewards"],
        terminals=data["terminals"],
        action_space=d3rlpy.ActionSpace.DISCRETE,
        action_size=len(codes),  # some arms may never be chosen in the data
    )
    algo = _config(algorithm, gamma).create(device="cpu:0")
    if fast_sampling:
        algo.build_with_dataset(dataset)
        _update_loop(algo, x, data, n_steps, np.random.default_rng(seed), show_progress)
    else:
        algo.fit(
            dataset,
            n_steps=n_steps,
            n_steps_per_epoch=min(n_steps, 5_000),
            logger_adapter=d3rlpy.logging.NoopAdapterFactory(),  # no d3rlpy_logs/ folder
            show_progress=show_progress,
            save_interval=10**9,
        )
    return OfflinePeer(algo, algorithm, columns, mean, scale, tuple(codes))


def _update_loop(algo, x, data, n_steps, rng, show_progress) -> None:
    """`n_steps` updates on uniformly drawn transitions, batched with numpy."""
    from d3rlpy.dataset import TransitionMiniBatch
    from tqdm import tqdm

    terminal = data["terminals"].astype(bool)
    actions = data["actions"].astype(np.float32)[:, None]
    # The next state of row i is row i+1 of the same person; after a terminal it is zeros (as
    # in d3rlpy's BasicTransitionPicker, where the terminal flag also drops the bootstrap).
    next_x = np.zeros_like(x)
    next_x[:-1] = x[1:]
    next_x[terminal] = 0.0
    next_actions = np.zeros_like(actions)
    next_actions[:-1] = actions[1:]
    next_actions[terminal] = 0.0
    rewards = data["rewards"].astype(np.float32)[:, None]
    terminals = terminal.astype(np.float32)[:, None]
    intervals = np.ones((BATCH_SIZE, 1), dtype=np.float32)
    for _ in tqdm(range(n_steps), disable=not show_progress, desc="updates"):
        i = rng.integers(len(x), size=BATCH_SIZE)
        algo.update(
            TransitionMiniBatch(
                observations=x[i],
                actions=actions[i],
                rewards=rewards[i],
                next_observations=next_x[i],
                next_actions=next_actions[i],
                terminals=terminals[i],
                intervals=intervals,
                transitions=[],
            )
        )


# --- smoke check ------------------------------------------------------------------------------


def _available(persons: pd.DataFrame, keys: pd.DataFrame, catalogue) -> np.ndarray:
    """Offered arms per decision point, from each person's region."""
    table = catalogue.availability()
    region = persons.set_index("person_id")["region"].reindex(keys["person_id"]).to_numpy()
    return table.loc[region, list(catalogue.intervention_codes)].to_numpy(dtype=bool)


def _discounted_return(rewards: np.ndarray, terminals: np.ndarray, gamma: float) -> np.ndarray:
    """The behaviour's observed discounted reward-to-go at every transition."""
    out = np.zeros_like(rewards, dtype=np.float64)
    running = 0.0
    for i in range(len(rewards) - 1, -1, -1):
        if terminals[i]:
            running = 0.0
        running = rewards[i] + gamma * running
        out[i] = running
    return out


def _smoke(
    folder: str,
    algorithm: str,
    n_steps: int,
    seed: int,
    train_share: float,
    closed_loop_k: int = 0,
    data_seed: int = 0,
) -> None:
    import resource
    import time

    from adapt.contract import read_table

    catalogue = load_catalogue()
    codes = list(catalogue.intervention_codes)
    persons = read_table(folder, "persons")
    episodes = read_table(folder, "episodes")
    rng = np.random.default_rng(seed)
    ids = persons["person_id"].to_numpy()
    train_ids = set(rng.choice(ids, size=int(train_share * len(ids)), replace=False))
    in_train = persons["person_id"].isin(train_ids)
    train_p, test_p = persons[in_train], persons[~in_train]
    train_e = episodes[episodes["person_id"].isin(train_ids)]
    test_e = episodes[~episodes["person_id"].isin(train_ids)]

    start, cpu = time.perf_counter(), time.process_time()
    peer = fit_offline_peer(train_p, train_e, algorithm, n_steps=n_steps, seed=seed)
    fit_s, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    test = build_transitions(test_p, test_e, catalogue)
    available = _available(test_p, test["keys"], catalogue)
    chosen = peer.choose(test["features"], available)
    behaviour = np.asarray(codes, dtype=object)[test["actions"]]
    q = peer.q_values(test["features"])
    rows = np.arange(len(q))
    observed = _discounted_return(test["rewards"], test["terminals"], GAMMA)
    print(
        f"{algorithm}: {len(train_p):,} persons, {len(train_e):,} transitions, {n_steps:,} steps"
        f" in {fit_s:.0f} s ({fit_cpu:.0f} s CPU), peak RSS {peak_mb:,.0f} MB"
    )
    print(f"  held out: {len(test_e):,} decisions of {len(test_p):,} persons")
    print(f"  chosen == recorded: {np.mean(chosen == behaviour):.3f}")
    greedy_value = peer.value(test["features"], available).mean()
    print(f"  mean Q of greedy choice (reward-to-go estimate): {greedy_value:.3f}")
    print(f"  mean Q of recorded choice: {q[rows, test['actions']].mean():.3f}")
    print(f"  observed discounted reward-to-go of behaviour: {observed.mean():.3f}")
    print(f"  arms chosen: {pd.Series(chosen).value_counts().head(5).to_dict()}")
    try:
        from adapt.evaluation import truth_matrix

        truth = truth_matrix(read_table(folder, "truth"), test["keys"], codes).to_numpy()
        pick = pd.Index(codes).get_indexer(chosen)
        mean_avail = np.nanmean(truth, axis=1).mean()
        print(
            "  true p(progress) of the next episode: greedy"
            f" {truth[rows, pick].mean():.3f}, recorded {truth[rows, test['actions']].mean():.3f},"
            f" uniform {mean_avail:.3f}, oracle {np.nanmax(truth, axis=1).mean():.3f}"
        )
    except (FileNotFoundError, ValueError, KeyError) as err:  # data without truth
        print(f"  (no truth comparison: {err})")
    if closed_loop_k:
        _closed_loop(peer, test_p, test_e, data_seed, closed_loop_k, seed)


def _closed_loop(peer, persons, episodes, data_seed: int, k: int, seed: int) -> None:
    """Steps gained over k episodes from held-out start states, the peer deciding as it goes.

    Uses the simulator's oracle (the default world and the seed the data were generated with),
    with fresh common random numbers for every policy, so the differences are paired.
    """
    from adapt.simulation import Oracle

    oracle = Oracle(seed=data_seed)
    start = oracle.start_states(persons, episodes, seed=seed)
    rng = np.random.default_rng(seed)

    def uniform(batch) -> list[str]:
        offered = batch.available.to_numpy(dtype=bool)
        keys = np.where(offered, rng.random(offered.shape), -1.0)
        return list(batch.available.columns[keys.argmax(axis=1)])

    fresh = seed + 10_007  # not the simulator's own draws (those favour recorded histories)
    values = {
        name: oracle.closed_loop_values(start, policy, k, seed=fresh)
        for name, policy in (
            ("peer", peer.policy()),
            ("behaviour", "behaviour"),
            ("uniform", uniform),
        )
    }
    diff = values["peer"] - values["behaviour"]
    print(
        f"  closed loop, {len(start):,} starts, k={k}: steps gained "
        + ", ".join(f"{name} {v.mean():.3f}" for name, v in values.items())
        + f"; peer - behaviour {diff.mean():+.3f} (se {diff.std(ddof=1) / np.sqrt(len(diff)):.3f})"
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a folder written by `adapt generate`")
    parser.add_argument("--algorithm", choices=ALGORITHMS, default="bcq")
    parser.add_argument("--n-steps", type=int, default=DEFAULT_N_STEPS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-share", type=float, default=0.7)
    parser.add_argument(
        "--closed-loop", type=int, default=0, help="k: also roll out k episodes in the simulator"
    )
    parser.add_argument("--data-seed", type=int, default=0, help="the seed `adapt generate` used")
    args = parser.parse_args()
    _smoke(
        args.folder,
        args.algorithm,
        args.n_steps,
        args.seed,
        args.train_share,
        args.closed_loop,
        args.data_seed,
    )

"""Benchmark adapt's learners against the peers a researcher would otherwise pick.

    .venv/bin/python benchmarks/bench_learners.py                  # 100k persons, every preset
    .venv/bin/python benchmarks/bench_learners.py --quick --presets default order_effects

Each preset is simulated once (fixed seed), turned into decision points, split 70/30 by person and
cached as Parquet; every method then runs in a fresh process on that split, so its peak memory
(VmHWM, Linux: interpreter, imports and data included) is its own. Every LightGBM model, ours and
the peers', has adapt's settings and n_jobs=--n-jobs. Policies pick the offered intervention with
the highest predicted probability; regret closure (95 % person-bootstrap interval) and policy value
are true values on the test persons. Qini: mean over arms of `qini_auuc` with uplift over current
practice p_a - sum_j e_j p_j, e and the weights from one behaviour model (adapt's) fitted once per
preset. Coverage 90 %: share of (test decision point, offered intervention) cells whose
`predict_interval(level=0.9)` holds the true probability, and the mean width (adapt's only).

Peers with one control arm use the most frequent training intervention. causalml-t: p_a from its
per-arm models. causalml-x: pairwise propensities e_a / (e_a + e_control) from its own LightGBM
multiclass model, p_a = control outcome model + effect. econml-dr: one-hot features (NaN -> -1),
cv=2 grouped by person; p_a = p_control + effect, p_control from its own regression nuisance
(`models_regression`, every treatment dummy 0) averaged over folds. metalearners-dr: n_folds=2 (no
person groups), p_a = its control conditional average outcome + its DR effect. Other settings are
the packages' defaults; peer probabilities are not clipped to [0, 1]. econml-policy-tree:
`DRPolicyTree` (max_depth=3, cv=2 grouped by person, the same LightGBM nuisances) gives a choice,
not probabilities: a 0/1 column per offered intervention (see `econml_policy_tree`).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

OURS = ("adapt-s", "adapt-t", "adapt-x", "adapt-dr")
PEERS = (
    "plain-s",
    "causalml-x",
    "causalml-t",
    "econml-dr",
    "metalearners-dr",
    "econml-policy-tree",
)
PRESETS = ("default", "order_effects", "strong_confounding", "unobserved_confounder")
SEEDS = {"default": 1, "order_effects": 2, "strong_confounding": 3, "unobserved_confounder": 4}
TARGET_RC, AIM_RC, TARGET_FIT_RATIO, SEED, ARM = 0.85, 0.90, 3.0, 0, "__intervention__"
N_JOBS = 2  # set from --n-jobs
# libgomp's default (spin long, then sleep) made LightGBM with 2 threads ~40x slower while another
# process kept one of the two cores busy; OMP_WAIT_POLICY=PASSIVE made it ~10x slower when idle.
# A short spin is fast in both cases. Set before lightgbm loads; an explicit setting wins.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")


# -- data ------------------------------------------------------------------------------------------
def prepare(preset: str, n_persons: int, folder: Path) -> None:
    """Simulate, build decision points, split 70/30 by person, write train/test/truth Parquet."""
    from adapt.features._decision_points import decision_points
    from adapt.simulation import simulate

    data = simulate(n_persons, seed=SEEDS.get(preset, 1), preset=preset)
    dp = decision_points(data["persons"], data["episodes"])
    persons = np.random.default_rng(SEEDS.get(preset, 1)).permutation(dp.keys["person_id"].unique())
    is_train = dp.keys["person_id"].isin(persons[: round(0.7 * len(persons))]).to_numpy()
    folder.mkdir(parents=True, exist_ok=True)
    for part, rows in (("train", np.flatnonzero(is_train)), ("test", np.flatnonzero(~is_train))):
        sub = dp.take(rows)
        frame = pd.concat([sub.keys, sub.features], axis=1)
        frame["__treatment__"], frame["__outcome__"] = sub.treatment.astype(str), sub.outcome
        frame.to_parquet(folder / f"{part}.parquet")
    data["truth"].to_parquet(folder / "truth.parquet")


def load(folder: Path, part: str):
    """Features, treatment codes, outcomes and (person_id, episode_no) of one part."""
    frame = pd.read_parquet(folder / f"{part}.parquet")
    X = frame.drop(columns=["person_id", "episode_no", "__treatment__", "__outcome__"])
    t, y = frame["__treatment__"].to_numpy(object), frame["__outcome__"].to_numpy()
    return X, t, y, frame[["person_id", "episode_no"]]


@functools.cache
def catalogue():
    from adapt.catalogue import load_catalogue

    return load_catalogue()


def codes() -> list[str]:
    return list(catalogue().intervention_codes)


def available(X: pd.DataFrame) -> np.ndarray:
    return catalogue().availability().loc[X["region"].astype(str)].to_numpy(bool)


def lgbm(kind: str = "classifier"):
    """LightGBM class and params with exactly adapt's settings (derived, not copied)."""
    import lightgbm as lgb

    from adapt.models import _lightgbm, make_learner

    settings = make_learner("s").get_params()
    boosting = ("n_estimators", "learning_rate", "num_leaves", "min_child_samples")
    model = _lightgbm.classifier(
        **{k: settings[k] for k in boosting}, random_state=SEED, n_jobs=N_JOBS
    )
    params = {k: v for k, v in model.get_params().items() if v is not None}
    return (lgb.LGBMClassifier if kind == "classifier" else lgb.LGBMRegressor), params


def numeric(X: pd.DataFrame) -> np.ndarray:
    """One-hot categoricals and NaN -> -1, for numpy-only APIs."""
    cats = [c for c in X if isinstance(X[c].dtype, pd.CategoricalDtype)]
    return pd.get_dummies(X, columns=cats, dtype=float).fillna(-1.0).to_numpy(float)


def with_arm(X: pd.DataFrame, arms) -> pd.DataFrame:
    return X.assign(**{ARM: pd.Categorical(arms, categories=codes())})


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def control_of(t: np.ndarray) -> str:
    return pd.Series(t).value_counts().index[0]


# -- methods: method(X, t, y, groups) fits and returns predict(X) -> (n, arms) probabilities ------
def adapt_learner(name: str):
    def method(X, t, y, groups):
        from adapt.models import make_learner

        model = make_learner(name, n_jobs=N_JOBS).fit(X, t, y, groups=groups)

        def predict(X):
            return model.predict(X).to_numpy(float)

        def interval(X):
            return np.stack([b.to_numpy(float) for b in model.predict_interval(X, level=0.9)])

        predict.interval = interval
        return predict

    return method


def plain_s(X, t, y, groups):
    cls, params = lgbm()
    model = cls(**params).fit(with_arm(X, t), y)
    return lambda X: np.column_stack(
        [model.predict_proba(with_arm(X, [a] * len(X)))[:, 1] for a in codes()]
    )


def causalml_t(X, t, y, groups):
    from causalml.inference.meta import BaseTClassifier

    cls, params = lgbm()
    model = BaseTClassifier(learner=cls(**params), control_name=control_of(t))
    model.fit(X, treatment=t, y=y)

    def predict(X):
        _, p_control, p_treated = model.predict(X, return_components=True)
        p_c = next(iter(p_control.values()))
        return np.column_stack([p_treated.get(a, p_c) for a in codes()])

    return predict


def causalml_x(X, t, y, groups):
    from causalml.inference.meta import BaseXClassifier

    (cls, params), (reg, _), control = lgbm(), lgbm("regressor"), control_of(t)
    propensity, arms = cls(**params).fit(X, t), sorted(set(t) - {control})

    def pairwise(X):
        e = pd.DataFrame(propensity.predict_proba(X), columns=propensity.classes_)
        return {a: np.clip(e[a] / (e[a] + e[control]), 1e-3, 1 - 1e-3).to_numpy() for a in arms}

    model = BaseXClassifier(cls(**params), reg(**params), control_name=control)
    model.fit(X, treatment=t, y=y, p=pairwise(X))

    def predict(X):
        effect, p_c = model.predict(X, p=pairwise(X)), model.model_mu_c.predict_proba(X)[:, 1]
        p = {a: p_c + effect[:, i] for i, a in enumerate(arms)}
        return np.column_stack([p.get(a, p_c) for a in codes()])

    return predict


def econml_dr(X, t, y, groups):
    from econml.dr import DRLearner

    (cls, params), (reg, _), control = lgbm(), lgbm("regressor"), control_of(t)
    order = [control, *(a for a in codes() if a != control and a in set(t))]
    model = DRLearner(
        model_propensity=cls(**params),
        model_regression=cls(**params),
        model_final=reg(**params),
        discrete_outcome=True,
        categories=order,
        cv=2,
        random_state=SEED,
    )
    model.fit(y, t, X=numeric(X), groups=groups)

    def predict(X):
        Xn = numeric(X)
        untreated = np.hstack([Xn, np.zeros((len(Xn), len(order) - 1))])
        p_c = np.mean([m.predict_proba(untreated)[:, 1] for m in model.models_regression[0]], 0)
        effect = model.const_marginal_effect(Xn).reshape(len(Xn), -1)
        p = np.column_stack([p_c, p_c[:, None] + effect])
        return np.column_stack([p[:, order.index(a)] if a in order else p_c for a in codes()])

    return predict


def econml_policy_tree(X, t, y, groups):
    """A choice, not probabilities: 1.0 on the recommended offered intervention, 0.0 on the other
    offered ones, NaN where not offered (the benchmark's argmax then scores the choice; its Qini
    on these 0/1 columns means little). Where the tree's pick is not offered in the row's region,
    the offered intervention with the highest value in the row's leaf (the tree's own DR estimate
    relative to the control arm, control 0) is taken; arms never seen in training get no value."""
    from econml.policy import DRPolicyTree

    (cls, params), (reg, _), control = lgbm(), lgbm("regressor"), control_of(t)
    order = [control, *(a for a in codes() if a != control and a in set(t))]
    model = DRPolicyTree(
        model_regression=reg(**params),  # no discrete_outcome here: a regressor on the 0/1 outcome
        model_propensity=cls(**params),
        categories=order,
        cv=2,
        max_depth=3,
        random_state=SEED,
    )
    model.fit(y, t, X=numeric(X), groups=groups)

    def predict(X):
        leaf = model.policy_model_.predict_value(numeric(X))  # (n, len(order)), control = 0
        value = np.full((len(X), len(codes())), -np.inf)
        value[:, [codes().index(a) for a in order]] = leaf
        offered = available(X)
        pick = np.where(offered, value, -np.inf).argmax(axis=1)
        return np.where(offered, (np.arange(len(codes())) == pick[:, None]).astype(float), np.nan)

    return predict


def metalearners_shim(cls, reg):
    """metalearners 0.13 predates scikit-learn 1.7: it reads `_estimator_type` off model classes
    and calls is_classifier/is_regressor on classes and on its own wrapper. Restore the attribute
    and the old attribute-based checks, inside metalearners only."""
    import metalearners._utils
    import metalearners.cross_fit_estimator as cross_fit

    for module in (metalearners._utils, cross_fit):  # noqa: SLF001 (patching a peer, as said)
        module.is_classifier = lambda est: getattr(est, "_estimator_type", None) == "classifier"
        module.is_regressor = lambda est: getattr(est, "_estimator_type", None) == "regressor"
    return (
        type(cls.__name__, (cls,), {"_estimator_type": "classifier"}),
        type(reg.__name__, (reg,), {"_estimator_type": "regressor"}),
    )


def metalearners_dr(X, t, y, groups):
    from metalearners import DRLearner

    (cls, params), (reg, _), control = lgbm(), lgbm("regressor"), control_of(t)
    cls, reg = metalearners_shim(cls, reg)
    order = [control, *(a for a in codes() if a != control)]
    model = DRLearner(
        is_classification=True,
        n_variants=len(order),
        nuisance_model_factory=cls,
        propensity_model_factory=cls,
        treatment_model_factory=reg,
        nuisance_model_params=params,
        propensity_model_params=params,
        treatment_model_params=params,
        n_folds=2,
        random_state=SEED,
    )
    model.fit(X, y, pd.Index(order).get_indexer(t))

    def predict(X):
        p_c = model.predict_conditional_average_outcomes(X, is_oos=True)[:, 0, 1]
        p = np.column_stack([p_c, p_c[:, None] + model.predict(X, is_oos=True)[:, :, 1]])
        return p[:, pd.Index(order).get_indexer(codes())]

    return predict


METHODS = {
    **{f"adapt-{n}": adapt_learner(n) for n in ("s", "t", "x", "dr")},
    "plain-s": plain_s,
    "causalml-x": causalml_x,
    "causalml-t": causalml_t,
    "econml-dr": econml_dr,
    "metalearners-dr": metalearners_dr,
    "econml-policy-tree": econml_policy_tree,
}


# -- one method in its own process -----------------------------------------------------------------
def peak_mib() -> float:
    """This process's own peak RSS: VmHWM. ru_maxrss would also count the parent's peak, which a
    child started by fork/vfork + exec inherits on Linux."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def worker(method: str, folder: Path) -> None:
    X, t, y, keys = load(folder, "train")
    X_test, result = load(folder, "test")[0], {}
    try:
        began = time.perf_counter()
        predict = METHODS[method](X, t, y, keys["person_id"].to_numpy())
        result["fit_s"], began = time.perf_counter() - began, time.perf_counter()
        p = np.asarray(predict(X_test), dtype=float)
        result["predict_s"] = time.perf_counter() - began
        np.save(folder / f"{method}.npy", p)
        if hasattr(predict, "interval"):
            np.save(folder / f"{method}.interval.npy", predict.interval(X_test))
    except Exception as exc:  # a peer that fails gets a row with its error; the run goes on
        result["error"] = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"
    result["peak_mib"] = peak_mib()
    print(json.dumps(result))


def run_method(method: str, folder: Path) -> dict:
    cmd = [sys.executable, __file__, "--n-jobs", str(N_JOBS), "--worker", method, str(folder)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return {"error": f"process exited with {done.returncode}: {tail}"}
    result = json.loads(lines[-1])
    if "error" in result:
        return result
    bounds = folder / f"{method}.interval.npy"
    return {
        **result,
        "p": np.load(folder / f"{method}.npy"),
        "interval": np.load(bounds) if bounds.exists() else None,
    }


# -- scoring and report ----------------------------------------------------------------------------
def score(preset: str, folder: Path, methods: list[str]) -> tuple[dict, pd.DataFrame]:
    from adapt.evaluation import compare_policies, interval_coverage, qini_auuc, truth_matrix
    from adapt.models import make_learner
    from adapt.policies import choose_best

    X, t, y, keys = load(folder, "train")
    X_test, t_test, y_test, keys_test = load(folder, "test")
    truth = truth_matrix(pd.read_parquet(folder / "truth.parquet"), keys_test)
    behaviour = make_learner("s", n_bags=1, n_jobs=N_JOBS).fit(X, t, y, groups=keys["person_id"])
    e = behaviour.behaviour_probabilities(X_test).to_numpy()
    offered, runs, choices = available(X_test), {}, {}
    for method in methods:
        log(f"[{preset}] {method} ...")
        r = runs[method] = run_method(method, folder)
        if "error" in r:
            log(f"[{preset}] {method} failed: {r['error']}")
            continue
        p = np.where(offered, r.pop("p"), np.nan)
        bounds = r.pop("interval")
        if bounds is not None:
            coverage = interval_coverage(bounds[0], bounds[1], truth.to_numpy(float))
            r["coverage"], r["width"] = coverage.coverage, coverage.mean_width
        choices[method] = choose_best(pd.DataFrame(p, columns=[f"p_{c}" for c in codes()]))
        try:
            uplift = p - np.nansum(e * p, axis=1, keepdims=True)  # over current practice
            r["qini"] = qini_auuc(uplift, t_test, y_test, e, codes()).table["qini"].mean()
        except ValueError as exc:
            r["qini"], r["note"] = np.nan, f"Qini failed: {exc}"
        log(
            f"[{preset}] {method}: fit {r['fit_s']:.1f} s, predict {r['predict_s']:.1f} s, "
            f"peak {r['peak_mib']:.0f} MiB"
        )
    choices = {m: c.to_numpy() for m, c in choices.items()}
    return runs, compare_policies(choices, truth, t_test, n_bootstrap=200, seed=SEED)


def report(preset: str, n_persons: int, folder: Path, runs: dict, policies: pd.DataFrame) -> None:
    # Row counts from the Parquet footers (reading no columns gives no rows under pandas 3).
    sizes = [pq.read_metadata(folder / f"{p}.parquet").num_rows for p in ("train", "test")]
    print(
        f"\n## {preset} ({n_persons:,} persons, seed {SEEDS.get(preset, 1)}; decision points "
        f"{sizes[0]:,} train, {sizes[1]:,} test)\n"
    )
    print(
        "| method | regret closure [95 % CI] | policy value | Qini | coverage 90 % | width | "
        "fit s | fit ×plain-s | predict s | peak MiB | note |\n|:---|" + "---:|" * 9 + ":---|"
    )
    plain = runs.get("plain-s", {}).get("fit_s", np.nan)
    for method, r in runs.items():
        if "error" in r:
            peak = f"{r['peak_mib']:.0f}" if "peak_mib" in r else "–"
            print(f"| {method} | – | – | – | – | – | – | – | – | {peak} | error: {r['error']} |")
            continue
        pol = policies.loc[method]
        cells = [
            method,
            f"{pol.regret_closure:.3f} [{pol.regret_closure_low:.3f}, "
            f"{pol.regret_closure_high:.3f}]",
            f"{pol.value:.4f}",
            f"{r['qini']:.4f}",
            f"{r['coverage']:.3f}" if "coverage" in r else "–",
            f"{r['width']:.3f}" if "width" in r else "–",
            f"{r['fit_s']:.1f}",
            f"{r['fit_s'] / plain:.2f}",
            f"{r['predict_s']:.2f}",
            f"{r['peak_mib']:.0f}",
            r.get("note", ""),
        ]
        print("| " + " | ".join(cells) + " |")
    print(
        "\nBaselines, true policy value (regret closure): "
        + ", ".join(
            f"{b} {policies.loc[b, 'value']:.4f} ({policies.loc[b, 'regret_closure']:.3f})"
            for b in ("random", "behaviour", "best_single", "oracle")
        )
        + "."
    )


def targets(preset: str, runs: dict, policies: pd.DataFrame) -> list[str]:
    rc = policies["regret_closure"]
    ours, peers = ([m for m in group if m in runs and m in rc] for group in (OURS, PEERS))
    if not ours:
        return [f"- **{preset}**: no adapt learner ran"]
    best = max(ours, key=rc.get)
    verdict = {True: "PASS", False: "MISS"}
    lines = [
        f"- **{preset}**: best adapt learner {best}, regret closure {rc[best]:.3f} ≥ "
        f"{TARGET_RC} → {verdict[bool(rc[best] >= TARGET_RC)]} (aim {AIM_RC}: "
        f"{'reached' if rc[best] >= AIM_RC else 'not reached'})"
    ]
    if peers:
        top = max(peers, key=rc.get)
        passed = verdict[bool(rc[best] >= rc[top])]
        lines.append(f"  - ≥ best peer, {top} ({rc[top]:.3f}) → {passed}")
    if "plain-s" in peers:
        fit, limit = runs[best]["fit_s"], TARGET_FIT_RATIO * runs["plain-s"]["fit_s"]
        lines.append(
            f"  - fit {fit:.1f} s ≤ {TARGET_FIT_RATIO:g}× plain-s ({limit:.1f} s) → "
            f"{verdict[fit <= limit]}"
        )
    return lines


def main() -> None:
    global N_JOBS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-persons", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 persons")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=list(METHODS),
        help="default: all on default; ours, plain-s and the fastest other peer "
        "(by fit time on default; causalml-t without default) elsewhere",
    )
    parser.add_argument("--n-jobs", type=int, default=2, help="LightGBM threads of every model")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)  # method, data folder
    args = parser.parse_args()
    N_JOBS = args.n_jobs
    if args.worker:
        return worker(args.worker[0], Path(args.worker[1]))

    n_persons = 10_000 if args.quick else args.n_persons
    fastest, lines = "causalml-t", []
    with tempfile.TemporaryDirectory(prefix="bench_learners-") as tmp:
        for preset in sorted(args.presets, key=lambda p: p != "default"):
            log(f"[{preset}] simulating {n_persons:,} persons ...")
            prepare(preset, n_persons, Path(tmp) / preset)
            default = list(METHODS) if preset == "default" else [*OURS, "plain-s", fastest]
            runs, policies = score(preset, Path(tmp) / preset, args.methods or default)
            fits = {m: r["fit_s"] for m, r in runs.items() if m in PEERS[1:] and "fit_s" in r}
            fastest = min(fits, key=fits.get) if preset == "default" and fits else fastest
            report(preset, n_persons, Path(tmp) / preset, runs, policies)
            lines += targets(preset, runs, policies)
    print(
        f"\nPeak MiB: peak RSS (VmHWM) of the method's own process (interpreter, imports and data "
        f"included). LightGBM: adapt's settings, n_jobs={N_JOBS}, {os.cpu_count()} CPUs."
    )
    print("\n## Targets\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()

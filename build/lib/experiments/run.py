"""The main experiment: data -> decision points -> learner -> evaluation, plans, fairness, SHAP.

    python -m experiments.run                         # the default experiment (configs/)
    python -m experiments.run model=x seed=3          # any override
    python -m experiments.run -m model=s,t,x seed=0,1,2   # a sweep, nested under one parent
    python -m experiments.run +experiment=compare_learners

Every stage is a library call; this file only wires them together and records them.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import hydra
import mlflow
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from experiments.config import catalogue_path, config_problems, load_configured_catalogue, register

PROJECT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
PARENT_ENV = "ADAPT_SWEEP_PARENT_RUN"
SUMMARY_METRICS = ("regret_closure", "true_value", "dr_value", "mean_qini", "time_train_s")

register()


def tracking_target(cfg: DictConfig) -> tuple[str, str | None]:
    """The store's URI and, for the embedded store, its artifact root.

    The embedded store lives in `tracking.local_root` relative to the project folder (not the
    current directory), so runs launched from anywhere meet in the same store.
    """
    from adapt.tracking import local_store

    if cfg.tracking.uri:
        return cfg.tracking.uri, None
    return local_store(PROJECT / cfg.tracking.local_root)


def connect_tracking(cfg: DictConfig) -> str:
    """The experiment id; exits with one clear line when the store cannot be reached, or when a
    local store named by `MLFLOW_TRACKING_URI` / `tracking.uri` does not exist (only the
    embedded store is created)."""
    from adapt.tracking import TrackingUnavailable, connect

    uri, artifacts = tracking_target(cfg)
    try:
        return connect(
            uri,
            cfg.tracking.experiment,
            artifacts,
            cfg.tracking.timeout_seconds,
            create_folder=not cfg.tracking.uri,
        )
    except TrackingUnavailable as error:
        # SystemExit also passes through Hydra's callbacks, which turn exceptions into warnings.
        print(f"Error: {error}", file=sys.stderr)
        raise SystemExit(1) from None


def plain(cfg: DictConfig) -> dict:
    """The experiment's own settings (no `hydra` node), resolved, enums as their values."""
    return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)


@contextmanager
def timed(timings: dict, stage: str):
    """Say when `stage` starts and how long it took (stdout, flushed at once, so the lines
    keep pace in logs and sweeps); record the seconds as ``time_<stage>_s``."""
    print(f"[adapt] {stage}: started", flush=True)
    began = time.perf_counter()
    yield
    seconds = time.perf_counter() - began
    timings[f"time_{stage}_s"] = round(seconds, 3)
    print(f"[adapt] {stage}: {seconds:.1f} s", flush=True)


def in_sweep() -> bool:
    """Whether this run is one job of a Hydra multirun (a sweep)."""
    from hydra.types import RunMode

    return HydraConfig.get().mode == RunMode.MULTIRUN


def registers(cfg: DictConfig, sweep: bool) -> bool:
    """Whether the run registers its recommender: single runs with `tracking.register`, a
    sweep's runs only when `tracking.register_sweep` asks for it too."""
    return bool(cfg.tracking.register and (cfg.tracking.register_sweep or not sweep))


def data_label(cfg: DictConfig) -> str:
    """The data's name: the folder's own name for folder data, else the data config's."""
    if cfg.data.source.value == "folder" and cfg.data.path:
        return Path(cfg.data.path).resolve().name
    return cfg.data.name


def data_tags(cfg: DictConfig) -> dict[str, str]:
    """Tags naming the run's data: ``adapt.data_name`` and, for a folder, its absolute
    ``adapt.data_path``; for simulated data the world preset ``adapt.data_preset``; with a
    `catalogue` setting, the file as ``adapt.catalogue``."""
    tags = {"adapt.data_source": cfg.data.source.value, "adapt.data_name": data_label(cfg)}
    if cfg.data.source.value == "folder":
        tags["adapt.data_path"] = str(Path(cfg.data.path).resolve())
    else:
        tags["adapt.data_preset"] = cfg.data.preset
    if cfg.catalogue:
        tags["adapt.catalogue"] = str(catalogue_path(cfg))
    return tags


def world_overrides(data: DictConfig) -> dict:
    """The data config's knobs and dotted overrides as one mapping of world parameters."""
    overrides = {f"knobs.{k}": v for k, v in data.knobs.items() if v is not None}
    overrides.update(data.overrides)
    return overrides


def load_data(cfg: DictConfig, seed: int):
    """The run's data, simulated over or read with the configured catalogue."""
    from adapt.pipeline import folder_data, simulated_data

    data, catalogue = cfg.data, load_configured_catalogue(cfg)
    if data.source.value == "folder":
        return folder_data(data.path, catalogue)
    return simulated_data(data.n_persons, seed, data.preset, world_overrides(data), catalogue)


def check_settings(cfg: DictConfig) -> None:
    """Exit with every out-of-range setting named, before any work."""
    problems = config_problems(cfg, world_overrides(cfg.data))
    for problem in problems:  # one line each, naming the field, the value and what is allowed
        print(f"Error: {problem}", file=sys.stderr)
    if problems:
        raise SystemExit(1)


def run(cfg: DictConfig) -> dict:
    """Run one experiment in the active MLflow run; returns its metrics."""
    from adapt.calibration import calibration_report, format_report
    from adapt.contract import ContractError
    from adapt.explain import gain_explanation, importance_table, plot_explanation, plot_importance
    from adapt.fairness import load_thresholds, write_audit
    from adapt.features import decision_points
    from adapt.pipeline import (
        audit_held_out,
        evaluate_allocation,
        evaluate_recommender,
        fitted_learner,
        for_learner,
        make_model,
        planning_skip_reason,
        selection_table,
        split_persons,
    )
    from adapt.planning import StepTransitions
    from adapt.tracking import git_revision, log_inputs, log_table

    timings: dict[str, float] = {}
    seed = cfg.seed
    with timed(timings, "data"):
        try:
            data = load_data(cfg, seed)
        except (ContractError, ValueError, FileNotFoundError, KeyError) as error:
            print(
                f"Error: data {cfg.data.name!r}: {error.args[0] if error.args else error}",
                file=sys.stderr,
            )
            raise SystemExit(1) from None
    log_inputs(plain(cfg), data.fingerprint, git_revision(PROJECT))
    mlflow.set_tags({**data_tags(cfg), "adapt.catalogue_fingerprint": data.catalogue.fingerprint()})
    # the catalogue of a `catalogue` setting; None (the built-in one) keeps learners as before
    catalogue = data.catalogue if cfg.catalogue else None
    if data.simulated and cfg.data.calibration_targets:
        with timed(timings, "calibration"):
            report = calibration_report(
                data.persons, data.episodes, cfg.data.calibration_targets, catalogue
            )
        mlflow.log_text(format_report(report), "calibration_report.txt")
        log_table(report, "calibration_report")
        mlflow.log_metric("calibration_targets_met", float(report["passed"].mean()))

    settings = plain(cfg.model)
    learner = make_model(
        settings.pop("learner"),
        settings.pop("budget_seconds"),
        random_state=seed,
        catalogue=catalogue,
        **{k: v for k, v in settings.items() if k != "include_sensitive"},
    )
    with timed(timings, "features"):
        points = decision_points(
            data.persons,
            data.episodes,
            catalogue=catalogue,
            include_sensitive=cfg.model.include_sensitive,
            history=learner.history,
        )
        is_valid = split_persons(points.keys["person_id"], cfg.data.validation_share, seed)
        train, valid = points.take(~is_valid), points.take(is_valid)
    with timed(timings, "train"):
        learner.fit(train.features, train.treatment, train.outcome, groups=train.keys["person_id"])
    selection = selection_table(learner)
    if selection is not None:  # auto: what it scored and chose
        log_table(selection, "auto_selection")
        mlflow.set_tags(
            {"adapt.auto_choice": learner.best_candidate_, "adapt.auto_fallback": learner.fallback_}
        )
    learner = fitted_learner(learner)
    train, valid = for_learner(train, learner), for_learner(valid, learner)

    gate = None
    ev = cfg.evaluation
    plot_dir = Path(HydraConfig.get().runtime.output_dir) / "plots" if ev.plots else None
    with timed(timings, "evaluate"):
        evaluation = evaluate_recommender(
            learner,
            valid,
            data.truth,
            min_uplift=ev.min_uplift,
            n_bootstrap=ev.n_bootstrap,
            propensity_clip=ev.propensity_clip,
            seed=seed,
            plot_dir=plot_dir,
        )
    metrics = {**evaluation.metrics, "n_train_decision_points": float(len(train))}
    tables, plots = dict(evaluation.tables), list(evaluation.plots)
    if cfg.planning.enabled:
        skip = planning_skip_reason(data)
        if skip:
            print(f"planning: skipped, {skip}")
        else:
            with timed(timings, "planning"):
                planned = plan_by_horizon(
                    learner, data, valid.keys["person_id"], cfg.planning, seed, plot_dir
                )
            metrics.update(planned.metrics)
            tables["planning_report"] = planned.report
            plots.extend(planned.plots)
    if cfg.allocation.enabled:
        with timed(timings, "allocation"):
            allocated = evaluate_allocation(learner, data, valid.keys["person_id"])
        metrics.update(allocated.metrics)
        tables["allocation_cells"] = allocated.cells  # aggregates per region and intervention
    if cfg.fairness.enabled:
        with timed(timings, "audit"):
            gate = audit_held_out(
                learner,
                valid,
                evaluation.choices,
                data,
                load_thresholds(cfg.fairness.thresholds),
                seed,
            )
        folder = write_audit(gate, Path(HydraConfig.get().runtime.output_dir) / "audit")
        mlflow.log_artifacts(str(folder), "audit")  # aggregates only: no person's data
        # 1 passed, 0 failed; absent when the audit cannot judge (too few women or men)
        if gate.passed is not None:
            metrics["audit_passed"] = float(gate.passed)
        metrics.update({f"audit_{k}": float(v) for k, v in gate.summary.items() if v is not None})
        mlflow.set_tag("adapt.audit_verdict", gate.verdict)
    if cfg.explain.enabled:
        ex = cfg.explain
        with timed(timings, "explain"):
            explanation = gain_explanation(learner, valid.features, n_rows=ex.n_rows, seed=seed)
        importance = importance_table(explanation)
        tables["feature_importance"] = importance
        if plot_dir is not None:
            plots.append(
                plot_importance(
                    importance,
                    plot_dir / "feature_importance.png",
                    ex.top,
                    xlabel="mean |SHAP| of the recommended intervention over the usual path",
                )
            )
            plots.extend(plot_explanation(explanation, plot_dir, ex.top))
    for name, table in tables.items():
        log_table(table, name)
    for plot in plots:
        mlflow.log_artifact(str(plot), "plots")

    metric = ev.metric if ev.metric in metrics else ev.fallback_metric
    metrics["validation_metric"] = metrics[metric]
    mlflow.set_tag("adapt.validation_metric", metric)
    if registers(cfg, in_sweep()):
        with timed(timings, "register"):
            transitions = StepTransitions.fit(
                data.episodes[data.episodes["person_id"].isin(train.keys["person_id"])], catalogue
            )
            audit = None if gate is None else gate.to_json()
            card = {"audit": audit, "metrics": metrics, "data": _provenance(cfg, data, seed)}
            validated_on = {
                "fingerprint": data.fingerprint,
                "validation_share": cfg.data.validation_share,
                "seed": seed,
                "data_name": data_label(cfg),
            }
            register_recommender(
                cfg, learner, metric, metrics[metric], transitions, card, validated_on
            )
    metrics.update(timings)
    mlflow.log_metrics(metrics)
    return metrics


def plan_by_horizon(learner, data, valid_person_ids, planning: DictConfig, seed: int, plot_dir):
    """`evaluate_plans` one horizon at a time, behind a progress bar (shown on a terminal).

    Each horizon is judged on its own (same starts, same draws), so the numbers are those of
    one call with every horizon; only the starts are drawn again per horizon (a fraction of a
    second).
    """
    import pandas as pd
    from tqdm import tqdm

    from adapt.evaluation import plot_plan_values
    from adapt.pipeline import PlanEvaluation, evaluate_plans

    metrics, reports = {}, []
    bar = tqdm(list(planning.horizons), desc="planning", unit="horizon", disable=None)
    for k in bar:
        bar.set_postfix_str(f"k={k}")
        part = evaluate_plans(
            learner,
            data,
            valid_person_ids,
            horizons=[k],
            n_starts=planning.starts,
            beam_width=planning.beam_width,
            seed=seed,
        )
        metrics.update(part.metrics)
        reports.append(part.report)
    bar.close()
    result = PlanEvaluation(metrics, pd.concat(reports, ignore_index=True))
    if plot_dir is not None:
        result.plots.append(plot_plan_values(result.report, Path(plot_dir) / "plan_values.png"))
    return result


def register_recommender(
    cfg: DictConfig,
    learner,
    metric: str,
    value: float,
    transitions,
    card: dict,
    validated_on: dict,
) -> None:
    """Register the learner with its model card and what it was validated on (model version
    tags: data fingerprint, split, validation share, seed, data name).

    It becomes the champion only when it is eligible (with ``fairness.gate``, its gender audit
    passed) and either no version holds the alias or the holder was validated on the same data
    and split and `value` beats the holder's `metric`. A holder validated on other data keeps
    the alias, and one line says so (see `adapt.tracking.promote_if_better`).
    """
    from mlflow import MlflowClient

    from adapt.tracking import log_recommender, promote_if_better, split_id

    tracking = cfg.tracking
    name, alias = tracking.registered_model, tracking.champion_alias
    version = log_recommender(learner, name, transitions=transitions, **card)
    fingerprint = validated_on["fingerprint"]
    split = split_id(fingerprint, validated_on["validation_share"], validated_on["seed"])
    client = MlflowClient()
    for key in ("validation_share", "seed", "data_name"):
        client.set_model_version_tag(name, version.version, f"adapt.{key}", str(validated_on[key]))
    audit = card["audit"]
    # an audit that cannot judge does not vouch for the model: it keeps the champion
    eligible = audit is None or not cfg.fairness.gate or audit["verdict"] == "passed"
    decision = promote_if_better(
        name,
        version.version,
        metric,
        value,
        alias,
        eligible=eligible,
        fingerprint=fingerprint,
        split=split,
    )
    mlflow.set_tags(
        {
            "adapt.model_version": version.version,
            "adapt.champion": str(decision.promoted).lower(),
            "adapt.champion_reason": decision.reason,
        }
    )
    print(promotion_line(name, version.version, metric, value, alias, decision, fingerprint, split))


def promotion_line(name, version, metric, value, alias, decision, fingerprint, split) -> str:
    """One line saying whether the version took the alias, and why not."""
    this = f"{name} v{version} ({metric} {value:.4f})"
    theirs, their_split = decision.holder_fingerprint, decision.holder_split
    comparable = decision.holder is None or (theirs == fingerprint and their_split == split)
    if decision.reason == "other data":
        what = "another split of the same data" if theirs == fingerprint else "other data"
        return (
            f"{this} does not take {alias}: v{decision.holder} holds it, validated on {what} "
            f"(data {theirs[:12] if theirs else 'unrecorded'}, split "
            f"{their_split or 'unrecorded'}; this run: data {fingerprint[:12]}, split {split}), "
            f"so the values are not compared; keep a champion for these data with "
            f"tracking.champion_alias=<another alias>, or remove {alias!r} from "
            f"v{decision.holder} in the MLflow UI (make ui)"
        )
    verdict = "is the new" if decision.promoted else "stays behind the"
    reason = " because its gender audit failed" if decision.reason == "not eligible" else ""
    if not comparable:  # ineligible anyway; the holder's value is from other data
        return f"{this} {verdict} {alias}{reason} (v{decision.holder} holds it, other data)"
    before = "none" if decision.previous is None else f"{decision.previous:.4f}"
    return f"{this} {verdict} {alias}{reason} (was {before})"


def _provenance(cfg: DictConfig, data, seed: int) -> dict:
    """Where the data came from, for the model card: never a person's data."""
    described = {
        "source": "simulated" if data.simulated else "real",
        "name": data_label(cfg),
        "fingerprint": data.fingerprint,
        "persons": len(data.persons),
        "seed": seed,
    }
    if data.simulated:
        described["preset"] = cfg.data.preset
    if cfg.catalogue:
        described["catalogue"] = str(catalogue_path(cfg))
    return described


def print_summary(metrics: dict, run_id: str) -> None:
    shown = [
        ("regret closure", "regret_closure"),
        ("true value", "true_value"),
        ("behaviour value", "behaviour_value"),
        ("oracle value", "oracle_value"),
        ("DR estimate", "dr_value"),
        ("mean Qini", "mean_qini"),
    ]
    print(f"\nrun {run_id}")
    for label, key in shown:
        if key in metrics:
            low, high = metrics.get(f"{key}_low"), metrics.get(f"{key}_high")
            band = f"  [{low:.3f}, {high:.3f}]" if low is not None else ""
            print(f"  {label:<16} {metrics[key]:.3f}{band}")
    stages = {k: v for k, v in metrics.items() if k.startswith("time_")}
    for source in ("true", "estimated"):
        before = metrics.get(f"audit_{source}_progression_gap_behaviour")
        after = metrics.get(f"audit_{source}_progression_gap_recommender")
        if before is not None and after is not None:
            print(
                f"  {'gender gap':<16} {source} progression, women - men in a similar "
                f"situation: caseworkers {before:+.3f}, recommender {after:+.3f}"
            )
            break
    if "audit_passed" in metrics:
        verdict = "passed" if metrics["audit_passed"] == 1.0 else "failed (see audit/report.html)"
        print(f"  {'gender audit':<16} {verdict}")
    elif "audit_checks_failed_recommender" in metrics:
        print(f"  {'gender audit':<16} cannot judge (see audit/report.html)")
    closures = {
        k.removeprefix("plan_gain_closure_"): v
        for k, v in metrics.items()
        if k.startswith("plan_gain_closure_")
    }
    if closures:
        print(f"  {'plan closure':<16}", "  ".join(f"{k} {v:.3f}" for k, v in closures.items()))
    print("  seconds        ", "  ".join(f"{k[5:-2]} {v:.1f}" for k, v in stages.items()))


@hydra.main(version_base="1.3", config_path=str(PROJECT / "configs"), config_name="config")
def main(cfg: DictConfig) -> float:
    from adapt.tracking import CONFIG_KEY_TAG, config_key, finished_child

    check_settings(cfg)
    experiment_id = connect_tracking(cfg)  # fails here, before any work, when unreachable
    parent = os.environ.get(PARENT_ENV)
    key = config_key(plain(cfg))
    if parent:
        done = finished_child(experiment_id, parent, key)
        if done is not None:
            print(f"already finished in run {done.info.run_id}; not redone")
            return float(done.data.metrics.get("validation_metric", float("nan")))
    name = f"{data_label(cfg)}-{cfg.model.learner.value}-seed{cfg.seed}"
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=name,
        parent_run_id=parent,
        nested=parent is not None,
        tags={CONFIG_KEY_TAG: key},
    ) as active:
        metrics = run(cfg)
    print_summary(metrics, active.info.run_id)
    return float(metrics["validation_metric"])


def cli() -> None:
    """`adapt-experiment`: the command line's overrides checked (one line for the first
    mistake), then Hydra's main."""
    from experiments._preflight import override_problem

    problem = override_problem(sys.argv[1:], PROJECT / "configs", "config")
    if problem:
        print(f"Error: {problem}", file=sys.stderr)
        raise SystemExit(1)
    main()


if __name__ == "__main__":
    cli()

"""Fit the simulator's free parameters to a target set by least squares.

Run ``python -m adapt.calibration.fit`` to refit the default world; it prints the fitted values,
which belong in ``adapt/simulation/presets/default.yaml`` (marked ``calibrated`` there).
The objective is each target's miss (in tolerances) averaged over several seeds, so the fit aims
at the world's mean rather than one sample's luck. Random numbers are common across evaluations
(the same seeds), so the objective is a deterministic function of the parameters and finite
differences see the parameters, not sampling noise. Check the result on seeds not used here
with ``adapt calibrate --seeds``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import least_squares

from adapt.calibration._seeds import GRADED, seed_reports
from adapt.calibration._targets import load_targets
from adapt.simulation import World

# name: (scale of one step in the search, lower bound, upper bound)
FREE_PARAMETERS = {
    "progress.intercept": (0.3, -3.0, 3.0),
    "progress.step.2": (0.3, -3.0, 2.0),
    "progress.step.3": (0.3, -3.0, 2.0),
    "progress.women_market_penalty": (0.2, 0.0, 2.0),
    "progress.women_work_training_penalty": (0.2, 0.0, 3.0),
    "progress.coordination_offsets_penalty": (0.15, 0.0, 1.0),
    "progress.jump_to_work": (0.1, 0.0, 0.95),
    "progress.work_training_to_job": (0.1, 0.0, 0.95),
    "progress.stage_fit.coordination.2": (0.3, -3.0, 2.0),
    "progress.stage_fit.coordination.3": (0.3, -3.0, 2.0),
    "progress.women_job_jump_factor": (0.1, 0.1, 1.0),
    "progress.weak_swedish_job_jump_factor": (0.1, 0.1, 1.0),
    "progress.need_job_jump_factor": (0.1, 0.1, 1.0),
    "caseworker.need_to_coordination": (0.3, 0.0, 3.0),
    "progress.intervention_effect.supported_employment": (0.3, -2.0, 2.0),
    "exits.work_preparatory_exit": (0.1, 0.2, 0.98),
    "exits.dropout_intercept": (0.3, -6.0, 0.0),
    "caseworker.intercept.case_management": (0.3, -3.0, 3.0),
    "caseworker.intercept.supported_employment": (0.3, -3.0, 3.0),
    "caseworker.intercept.work_training_social_enterprise": (0.3, -3.0, 3.0),
    "caseworker.intercept.work_training_employer": (0.3, -3.0, 3.0),
    "episodes.duration_scale": (0.1, 0.3, 3.0),
    "episodes.region_duration.hbs": (0.1, 0.5, 3.0),
    "episodes.region_duration.stockholms_stad": (0.1, 0.5, 3.0),
    "episodes.cm_duration_ostra_sodertorn": (0.1, 0.2, 2.0),
    "latent.readiness_region.sodertalje": (0.2, -3.0, 1.0),
    "population.support_years_scale.sodertalje": (0.2, 2.0, 6.0),
    "exits.enrolment_limit_days.default": (30.0, 120.0, 900.0),
}


def _get(params: dict, dotted: str):
    node = params
    for part in dotted.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def _overrides(params: dict, values: dict[str, float]) -> dict:
    """Dotted overrides; list entries (``progress.step.2``) are replaced as whole lists."""
    out = {}
    for name, value in values.items():
        head, _, last = name.rpartition(".")
        if last.isdigit():
            current = list(out.get(head, _get(params, head)))
            current[int(last)] = value
            out[head] = current
        else:
            out[name] = value
    return out


def fit(
    targets="mia",
    n_persons: int = 100_000,
    seeds: tuple[int, ...] = (7, 8, 9),
    max_evaluations: int = 400,
    free: dict = FREE_PARAMETERS,
    verbose: bool = True,
    edge: float | None = None,
) -> dict[str, float]:
    """Fitted values for the `free` parameters of the default world.

    Each residual is a target's miss in tolerances, averaged over `seeds`. With `edge`, a miss r
    counts as r·sqrt(1 + (r/edge)²): misses beyond `edge` weigh far more, so the fit trades a
    little on figures well within their tolerance for the ones near its edge.
    """
    targets = load_targets(targets) if isinstance(targets, str) else targets
    graded = [t for t in targets if t.kind in GRADED]
    base = World.from_preset().params
    names = list(free)
    start = np.array([float(_get(base, n)) for n in names])
    scale = np.array([free[n][0] for n in names])
    # Search variable z = 1 + (value - start) / scale: scipy takes finite-difference steps
    # relative to |z|, so z must not start at 0.
    lower = 1 + (np.array([free[n][1] for n in names]) - start) / scale
    upper = 1 + (np.array([free[n][2] for n in names]) - start) / scale
    calls = {"n": 0}
    best = {"cost": np.inf, "values": {}}

    def residuals(z):
        values = dict(zip(names, start + (z - 1) * scale, strict=True))
        world = World.from_preset(overrides=_overrides(base, values))
        reports = seed_reports(world, n_persons, seeds, graded)
        reports["miss"] = (
            reports["simulated"].astype(float) - reports["target"].astype(float)
        ) / reports["tolerance"]
        mean_miss = reports.groupby("id", sort=False)["miss"].mean()
        r = mean_miss.reindex([t.id for t in graded]).to_numpy(float)
        if edge:
            r = r * np.sqrt(1 + (r / edge) ** 2)
        calls["n"] += 1
        cost = float(np.sum(np.nan_to_num(r, nan=10.0) ** 2))
        if cost < best["cost"]:
            best.update(cost=cost, values=values)
        if verbose and calls["n"] % 10 == 1:
            print(
                f"[{calls['n']:4d}] cost {cost:8.2f} (best {best['cost']:.2f})  worst "
                f"{graded[int(np.nanargmax(np.abs(r)))].id} {np.max(np.abs(r)):.2f} tol",
                flush=True,
            )
        if verbose and calls["n"] % 50 == 0:
            print(
                "best so far:",
                {k: round(float(v), 3) for k, v in best["values"].items()},
                flush=True,
            )
        return np.nan_to_num(r, nan=10.0)

    z0 = np.clip(np.ones(len(names)), lower + 1e-9, upper - 1e-9)
    result = least_squares(
        residuals, z0, bounds=(lower, upper), diff_step=0.15, max_nfev=max_evaluations, x_scale=1.0
    )
    if verbose:
        print(
            f"stopped after {result.nfev} evaluations: {result.message} "
            f"(best cost {best['cost']:.2f})"
        )
    # Common random numbers make the objective a step function: keep the best point evaluated.
    return {n: round(float(v), 3) for n, v in best["values"].items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="mia")
    parser.add_argument("--n-persons", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    parser.add_argument("--max-evaluations", type=int, default=400)
    parser.add_argument("--edge", type=float, default=None, help="weigh misses beyond this more")
    args = parser.parse_args()
    began = time.perf_counter()
    fitted = fit(
        args.targets, args.n_persons, tuple(args.seeds), args.max_evaluations, edge=args.edge
    )
    print(f"fitted in {time.perf_counter() - began:.0f} s:")
    for name, value in fitted.items():
        print(f"  {name}: {value}")


if __name__ == "__main__":
    main()

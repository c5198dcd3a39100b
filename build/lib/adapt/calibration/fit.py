"""Fit the simulator's free parameters so that the default world meets a target set at every seed.

Run ``python -m adapt.calibration.fit`` to refit the default world; it prints the fitted values,
which belong in ``adapt/simulation/presets/default.yaml`` (marked ``calibrated`` there). Check
them on seeds the fit never saw with ``adapt calibrate --seeds 8``.

The method is a damped Gauss-Newton search:

- each target's miss, in tolerances, is averaged over several seeds (common random numbers: the
  same seeds at every evaluation, so the objective is a deterministic function of the parameters);
- a miss is divided by the room its seed-to-seed spread leaves (``1 - 2 sd``), because a figure
  that moves a quarter of its tolerance between seeds must sit well inside it to be met at every
  seed; and beyond `edge` it weighs more (r·sqrt(1 + (r/edge)²)), so the fit trades a little on
  figures well inside their tolerance for those near its edge;
- a pull toward today's values (`pull`) keeps the world's causal structure where it is unless a
  target needs it moved;
- the Jacobian is taken with large steps (half a parameter's scale), since at 100,000 persons small
  steps see sampling steps rather than slopes; each step is solved within a trust radius, which
  halves until the true objective improves.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from adapt.calibration._seeds import GRADED, seed_reports
from adapt.calibration._targets import Target, load_targets
from adapt.simulation import World

# name: (scale of one step in the search, lower bound, upper bound)
FREE_PARAMETERS = {
    "progress.intercept": (0.3, -3.0, 3.0),
    "progress.step.2": (0.3, -3.0, 2.0),
    "progress.step.3": (0.3, -3.0, 2.0),
    "progress.women_market_penalty": (0.2, 0.0, 2.0),
    "progress.women_work_training_penalty": (0.3, 0.0, 6.0),
    "progress.coordination_offsets_penalty": (0.15, 0.0, 1.0),
    "progress.jump_to_work": (0.1, 0.0, 0.95),
    "progress.work_training_to_job": (0.1, 0.0, 0.95),
    "progress.stage_fit.coordination.2": (0.3, -4.0, 2.0),
    "progress.stage_fit.coordination.3": (0.3, -3.0, 2.0),
    "progress.women_job_jump_factor": (0.1, 0.1, 1.0),
    "progress.weak_swedish_job_jump_factor": (0.1, 0.1, 1.0),
    "progress.need_job_jump_factor": (0.1, 0.1, 1.0),
    "caseworker.need_to_coordination": (0.3, 0.0, 4.0),
    "progress.intervention_effect.supported_employment": (0.3, -2.0, 2.0),
    "exits.work_preparatory_exit": (0.1, 0.2, 0.98),
    "exits.dropout_intercept": (0.3, -6.0, 0.0),
    "exits.dropout_women": (0.15, -1.5, 1.0),
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
    "population.age_mean.ostra_sodertorn": (1.0, 25.0, 40.0),
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


def _misses(world: World, n_persons: int, seeds, graded: list[Target]) -> pd.DataFrame:
    """Per target (rows, in `graded` order): mean miss in tolerances over `seeds`, and its sd."""
    reports = seed_reports(world, n_persons, seeds, graded)
    reports["miss"] = (
        reports["simulated"].astype(float) - reports["target"].astype(float)
    ) / reports["tolerance"]
    stats = reports.groupby("id", sort=False)["miss"].agg(["mean", "std"])
    return stats.reindex([t.id for t in graded])


class _Objective:
    """The weighted misses of a parameter vector, and their cost (with the pull)."""

    def __init__(self, names, start, scale, n_persons, seeds, graded, edge, pull):
        self.base = World.from_preset().params
        self.names, self.start, self.scale = names, start, scale
        self.n_persons, self.seeds, self.graded = n_persons, seeds, graded
        self.edge, self.pull = edge, pull
        first = _misses(self._world(start), n_persons, seeds, graded)
        self.room = np.maximum(0.3, 1 - 2 * first["std"].fillna(0).to_numpy(float))

    def _world(self, x: np.ndarray) -> World:
        values = dict(zip(self.names, x, strict=True))
        return World.from_preset(overrides=_overrides(self.base, values))

    def residuals(self, x: np.ndarray) -> np.ndarray:
        misses = _misses(self._world(x), self.n_persons, self.seeds, self.graded)
        return np.nan_to_num(misses["mean"].to_numpy(float), nan=10.0) / self.room

    def cost(self, r: np.ndarray, x: np.ndarray) -> float:
        moved = self.pull * (x - self.start) / self.scale
        return float(np.sum(r**2 * (1 + (r / self.edge) ** 2)) + np.sum(moved**2))


def fit(
    targets="mia",
    n_persons: int = 100_000,
    seeds: tuple[int, ...] = (7, 8, 9, 10, 11),
    iterations: int = 3,
    free: dict = FREE_PARAMETERS,
    edge: float = 0.3,
    pull: float = 0.15,
    verbose: bool = True,
) -> dict[str, float]:
    """Fitted values for the `free` parameters of the default world, starting from today's."""
    targets = load_targets(targets) if isinstance(targets, str) else targets
    graded = [t for t in targets if t.kind in GRADED]
    base = World.from_preset().params
    names = list(free)
    x = np.array([float(_get(base, n)) for n in names])
    scale = np.array([free[n][0] for n in names])
    lower, upper = np.array([free[n][1] for n in names]), np.array([free[n][2] for n in names])
    objective = _Objective(names, x.copy(), scale, n_persons, seeds, graded, edge, pull)
    r = objective.residuals(x)
    say = print if verbose else (lambda *a, **k: None)
    say(f"start: cost {objective.cost(r, x):.2f}, largest miss {np.abs(r).max():.2f}", flush=True)
    for iteration in range(iterations):
        jacobian = np.empty((len(r), len(names)))
        for j in range(len(names)):
            step = 0.5 * scale[j] * (1 if x[j] + 0.5 * scale[j] <= upper[j] else -1)
            moved = x.copy()
            moved[j] += step
            jacobian[:, j] = (objective.residuals(moved) - r) / (step / scale[j])
        radius = 1.5
        while radius > 0.1:
            candidate = x + scale * _step(jacobian, r, x, objective, lower, upper, radius)
            r_new = objective.residuals(candidate)
            improved = objective.cost(r_new, candidate) < objective.cost(r, x)
            say(
                f"[{iteration}] radius {radius:.2f}: cost {objective.cost(r_new, candidate):.2f}, "
                f"largest miss {np.abs(r_new).max():.2f} "
                f"({graded[int(np.abs(r_new).argmax())].id}){'' if improved else ', rejected'}",
                flush=True,
            )
            if improved:
                x, r = candidate, r_new
                break
            radius /= 2
    return {n: round(float(v), 3) for n, v in zip(names, x, strict=True)}


def _step(jacobian, r, x, objective, lower, upper, radius) -> np.ndarray:
    """The step (in scale units, within `radius`) that minimises the objective's cost on the
    linearised misses ``r + J step``."""
    edge, pull, scale, start = objective.edge, objective.pull, objective.scale, objective.start

    def model(step):
        predicted = r + jacobian @ step
        moved = pull * (x + step * scale - start) / scale
        cost = np.sum(predicted**2 + predicted**4 / edge**2) + np.sum(moved**2)
        gradient = jacobian.T @ (2 * predicted + 4 * predicted**3 / edge**2) + 2 * pull * moved
        return float(cost), gradient

    low = np.maximum(-radius, (lower - x) / scale)
    high = np.minimum(radius, (upper - x) / scale)
    bounds = list(zip(low, high, strict=True))
    return minimize(model, np.zeros(len(x)), jac=True, method="L-BFGS-B", bounds=bounds).x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default="mia")
    parser.add_argument("--n-persons", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9, 10, 11])
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--edge", type=float, default=0.3, help="misses beyond this weigh more")
    parser.add_argument("--pull", type=float, default=0.15, help="pull toward today's values")
    args = parser.parse_args()
    began = time.perf_counter()
    fitted = fit(
        args.targets,
        args.n_persons,
        tuple(args.seeds),
        args.iterations,
        edge=args.edge,
        pull=args.pull,
    )
    print(f"fitted in {time.perf_counter() - began:.0f} s:")
    for name, value in fitted.items():
        print(f"  {name}: {value}")


if __name__ == "__main__":
    main()

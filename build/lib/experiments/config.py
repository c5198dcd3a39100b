"""The experiment's configuration schema: Hydra checks every config against these at start-up.

A mistyped key or a value of the wrong type fails composition with Hydra's own message, before
any data is simulated or read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


class DataSource(Enum):
    simulate = "simulate"
    folder = "folder"


class Learner(Enum):
    s = "s"
    t = "t"
    x = "x"
    dr = "dr"
    sequence = "sequence"
    blend = "blend"
    policy_tree = "policy_tree"
    auto = "auto"


@dataclass
class KnobsConfig:
    """The world's main knobs; unset (null) keeps the preset's value."""

    effect_scale: float | None = None
    confounding_strength: float | None = None
    unobserved_confounding: float | None = None
    gender_bias: float | None = None
    order_effect_scale: float | None = None
    positivity: float | None = None


@dataclass
class DataConfig:
    name: str = MISSING
    source: DataSource = DataSource.simulate
    preset: str = "default"  # world preset (simulate)
    n_persons: int = 2234  # (simulate)
    path: str | None = None  # folder with persons and episodes (folder)
    knobs: KnobsConfig = field(default_factory=KnobsConfig)
    overrides: dict[str, Any] = field(default_factory=dict)  # other dotted world parameters
    calibration_targets: str | None = "mia"  # compare simulated data with these; null skips
    validation_share: float = 0.3


@dataclass
class ModelConfig:
    learner: Learner = Learner.s
    n_estimators: int = 200
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 40
    # null: the learner's default (5)
    n_bags: int | None = None
    # auto only: seconds its search may take (null: 4x what its reference took)
    budget_seconds: float | None = None
    n_folds: int = 2
    propensity_n_estimators: int = 30
    n_jobs: int = 1
    # Gender and violence exposure as features. Off: the recommender is gender-blind, so two
    # people in the same situation get the same suggestions (docs/fairness.md says why).
    include_sensitive: bool = False


@dataclass
class EvaluationConfig:
    metric: str = "regret_closure"  # validation metric the champion is chosen on
    fallback_metric: str = "dr_value"  # used when the data have no truth
    min_uplift: float | None = None
    n_bootstrap: int = 200
    propensity_clip: float = 0.01
    plots: bool = True


@dataclass
class ExplainConfig:
    enabled: bool = True
    n_rows: int = 1000  # held-out rows explained (TreeExplainer, exact for S/T/sequence)
    top: int = 15  # features shown in the plots


@dataclass
class FairnessConfig:
    enabled: bool = True
    thresholds: str | None = None  # YAML overriding adapt/fairness/thresholds.yaml
    gate: bool = True  # the champion moves only when the gender audit passes


@dataclass
class PlanningConfig:
    """k-step plans judged against the truth (simulated data only): see adapt.pipeline."""

    enabled: bool = True
    horizons: list[int] = field(default_factory=lambda: [1, 2, 3, 4])  # plan lengths k, 1..5
    starts: int = 1000  # validation persons planned for (at most)
    beam_width: int = 4  # plan prefixes the planner keeps per person


@dataclass
class AllocationConfig:
    """The places caseworkers used, allocated among held-out persons: see adapt.pipeline."""

    enabled: bool = True


@dataclass
class TrackingConfig:
    # null: MLFLOW_TRACKING_URI, else the embedded SQLite store. A local folder (path, file: or
    # the folder of a sqlite:/// database) must exist: it is refused, never created.
    uri: str | None = None
    # The embedded store's folder (created when missing), relative to the project folder
    # wherever the command is launched; an absolute path is taken as it is.
    local_root: str = "mlruns"
    experiment: str = "adapt"
    register: bool = True  # register the recommender; it may then take the champion alias
    register_sweep: bool = False  # a sweep's runs register too (with `register`)
    registered_model: str = "adapt-recommender"
    champion_alias: str = "champion"
    timeout_seconds: int = 10


@dataclass
class ExperimentConfig:
    name: str = "default"
    seed: int = 0
    # Catalogue YAML (interventions, regions, what each offers) for simulating, reading folder
    # data and training; null: the built-in one. A relative path is taken from the folder the
    # experiment is launched in.
    catalogue: str | None = None
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    explain: ExplainConfig = field(default_factory=ExplainConfig)
    fairness: FairnessConfig = field(default_factory=FairnessConfig)
    planning: PlanningConfig = field(default_factory=PlanningConfig)
    allocation: AllocationConfig = field(default_factory=AllocationConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


def register() -> None:
    ConfigStore.instance().store(name="base_config", node=ExperimentConfig)


MAX_HORIZON = 5  # adapt.planning.MAX_K, kept here so composing needs no planning import

# Ranges the schema's types cannot express: (field, test, what is expected).
_RANGES = (
    ("seed", lambda v: v >= 0, "an integer >= 0"),
    ("data.n_persons", lambda v: v >= 1, "an integer >= 1"),
    ("data.validation_share", lambda v: 0 < v < 1, "a share strictly between 0 and 1"),
    ("model.n_estimators", lambda v: v >= 1, "an integer >= 1"),
    ("model.learning_rate", lambda v: v > 0, "a number > 0"),
    ("model.num_leaves", lambda v: v >= 2, "an integer >= 2"),
    ("model.min_child_samples", lambda v: v >= 1, "an integer >= 1"),
    ("model.n_bags", lambda v: v is None or v >= 1, "an integer >= 1 or null"),
    ("model.budget_seconds", lambda v: v is None or v > 0, "a number > 0 or null"),
    ("model.n_folds", lambda v: v >= 2, "an integer >= 2"),
    ("model.propensity_n_estimators", lambda v: v >= 1, "an integer >= 1"),
    ("model.n_jobs", lambda v: v >= 1, "an integer >= 1"),
    ("evaluation.n_bootstrap", lambda v: v >= 0, "an integer >= 0"),
    ("evaluation.propensity_clip", lambda v: 0 <= v < 0.5, "a number in [0, 0.5)"),
    ("explain.n_rows", lambda v: v >= 1, "an integer >= 1"),
    ("explain.top", lambda v: v >= 1, "an integer >= 1"),
    (
        "planning.horizons",
        lambda v: len(v) > 0 and all(1 <= k <= MAX_HORIZON for k in v),
        f"a non-empty list of plan lengths from 1 to {MAX_HORIZON}",
    ),
    ("planning.starts", lambda v: v >= 1, "an integer >= 1"),
    ("planning.beam_width", lambda v: v >= 1, "an integer >= 1"),
    ("tracking.timeout_seconds", lambda v: v >= 1, "an integer >= 1"),
)


def catalogue_path(cfg):
    """The `catalogue` setting as an absolute path (None for the built-in catalogue); a
    relative path is taken from the folder the experiment was launched in."""
    from pathlib import Path

    from hydra.utils import to_absolute_path

    return Path(to_absolute_path(cfg.catalogue)) if cfg.catalogue else None


def load_configured_catalogue(cfg):
    """The catalogue the `catalogue` setting names (None: the built-in one). Raises ValueError
    with one line naming the file when it is missing, not YAML or not a catalogue."""
    from adapt.catalogue import load_catalogue

    path = catalogue_path(cfg)
    if path is None:
        return None
    if not path.is_file():
        raise ValueError(f"no catalogue file {path}")
    try:
        return load_catalogue(path)
    except OSError as error:
        raise ValueError(f"{path}: cannot be read ({error.strerror or error})") from None


def config_problems(cfg, world_overrides: dict) -> list[str]:
    """Every setting outside its range, one line each naming the field; empty when all is well.

    Also reads the catalogue and builds the simulated world once, so a bad catalogue file, an
    unknown preset or world parameter is caught here.
    """
    from omegaconf import OmegaConf

    from adapt.calibration import load_targets
    from adapt.simulation import World

    problems = []
    for field_name, test, expected in _RANGES:
        value = OmegaConf.select(cfg, field_name)
        if not test(value):
            problems.append(f"{field_name}: expected {expected}, got {value!r}")
    catalogue, catalogue_read = None, True
    try:
        catalogue = load_configured_catalogue(cfg)
    except ValueError as error:
        problems.append(f"catalogue: {error} (null uses the built-in catalogue)")
        catalogue_read = False
    data = cfg.data
    if data.source == DataSource.folder and not data.path:
        problems.append("data.path: the folder source needs a path")
    if data.source == DataSource.simulate and catalogue_read:
        try:  # every world parameter's type and range (adapt.simulation's one check)
            World.from_preset(data.preset, world_overrides, catalogue)
        except (KeyError, ValueError, FileNotFoundError) as error:
            problems.append(f"data: {error.args[0] if error.args else error}")
    if data.calibration_targets is not None:
        try:  # a target set is a small YAML file: read it now, not after the simulation
            load_targets(data.calibration_targets)
        except (FileNotFoundError, ValueError) as error:
            problems.append(f"data.calibration_targets: {error} (null skips the comparison)")
    if cfg.evaluation.min_uplift is not None and (cfg.model.n_bags or 5) < 2:
        problems.append("evaluation.min_uplift: needs intervals, so model.n_bags >= 2")
    return problems

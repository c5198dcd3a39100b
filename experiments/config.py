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
    n_bags: int = 3
    n_folds: int = 2
    propensity_n_estimators: int = 30
    n_jobs: int = 1
    include_sensitive: bool = True  # gender and violence exposure as features


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
    n_rows: int = 100  # held-out rows explained
    n_background: int = 10  # rows SHAP masks features with
    n_permutations: int = 1
    top: int = 15  # features shown in the plot


@dataclass
class FairnessConfig:
    enabled: bool = True
    sensitive: str = "gender"  # a persons column
    min_group_size: int = 50  # smaller groups are reported, not compared


@dataclass
class TrackingConfig:
    uri: str | None = None  # null: MLFLOW_TRACKING_URI, else the embedded SQLite store
    local_root: str = "mlruns"  # the embedded store's folder, relative to the project
    experiment: str = "adapt"
    register: bool = True
    registered_model: str = "adapt-recommender"
    champion_alias: str = "champion"
    timeout_seconds: int = 10


@dataclass
class ExperimentConfig:
    name: str = "default"
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    explain: ExplainConfig = field(default_factory=ExplainConfig)
    fairness: FairnessConfig = field(default_factory=FairnessConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)


def register() -> None:
    ConfigStore.instance().store(name="base_config", node=ExperimentConfig)

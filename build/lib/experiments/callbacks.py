"""A Hydra callback that nests a sweep's runs under one MLflow parent run and summarises them."""

from __future__ import annotations

import os
from typing import Any

import mlflow
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from experiments.run import PARENT_ENV, SUMMARY_METRICS, connect_tracking


class SweepTracking(Callback):
    """Opens (or resumes) the parent run before a multirun, summarises it after."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        from adapt.tracking import config_key, open_sweep

        self.experiment_id = connect_tracking(config)  # exits when unreachable
        experiment = {k: v for k, v in OmegaConf.to_container(config).items() if k != "hydra"}
        params = config.hydra.sweeper.get("params")
        sweep = {
            "experiment": experiment,
            "overrides": list(config.hydra.overrides.task),
            "sweeper": OmegaConf.to_container(params) if params else {},
        }
        self.parent, resumed = open_sweep(
            self.experiment_id, config_key(sweep), f"sweep-{config.name}"
        )
        os.environ[PARENT_ENV] = self.parent
        print(f"{'resuming' if resumed else 'started'} sweep run {self.parent}")
        tracking = config.tracking
        if tracking.register and not tracking.register_sweep:
            print(
                "the sweep's runs are not registered (tracking.register_sweep=true registers "
                "each one)"
            )

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from adapt.tracking import format_summary, log_table, sweep_summary

        os.environ.pop(PARENT_ENV, None)
        summary = sweep_summary(self.experiment_id, self.parent, SUMMARY_METRICS)
        text = format_summary(summary, SUMMARY_METRICS)
        with mlflow.start_run(run_id=self.parent):
            if not summary.empty:
                log_table(summary, "summary")
            mlflow.log_text(text, "summary.txt")
        print(f"\nsweep {self.parent}: mean ± sd over seeds\n{text}")

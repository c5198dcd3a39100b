"""``hydra/launcher=dask``: a sweep's jobs as tasks on a Dask cluster, through `adapt.engines`.

The joblib launcher fixes joblib's backend to loky, so its Dask backend cannot be chosen there;
this launcher hands the same job function (`hydra_joblib_launcher`'s `execute_job`) to a Dask
engine instead: a `LocalCluster` of ``n_jobs`` processes, or the cluster at ``scheduler``.
Each job runs in a worker process with the launcher's tracking environment (the MLflow parent
run of the sweep, the tracking URI), so its run nests under the sweep's parent as with joblib.
"""

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, configure_log, filter_overrides, setup_globals
from hydra.plugins.launcher import Launcher
from hydra_plugins.hydra_joblib_launcher._core import execute_job

log = logging.getLogger(__name__)
# The variables a job's tracking reads, passed to workers that did not inherit them.
PASSED_ON = ("ADAPT_", "MLFLOW_")


@dataclass
class DaskLauncherConf:
    _target_: str = "hydra_plugins.adapt_dask_launcher.dask_launcher.DaskLauncher"
    # Hydra's plugin scan loads this module outside sys.modules: annotations stay evaluated, and
    # OmegaConf reads Optional
    # jobs at a time, as for joblib: a LocalCluster of this many processes (without scheduler)
    n_jobs: int = 2
    scheduler: Optional[str] = None  # noqa: UP045  an existing cluster: tcp://host:8786


ConfigStore.instance().store(
    group="hydra/launcher", name="dask", node=DaskLauncherConf, provider="adapt"
)


class DaskLauncher(Launcher):
    def __init__(self, n_jobs: int = 2, scheduler: Optional[str] = None) -> None:  # noqa: UP045
        self.n_jobs, self.scheduler = n_jobs, scheduler
        self.config = self.task_function = self.hydra_context = None

    def setup(self, *, hydra_context, task_function, config) -> None:
        self.config, self.task_function, self.hydra_context = config, task_function, hydra_context

    def launch(self, job_overrides, initial_job_idx: int) -> "list[JobReturn]":
        from adapt.engines import make_engine

        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        environment = {k: v for k, v in os.environ.items() if k.startswith(PASSED_ON)}
        state = Singleton.get_state()
        jobs = [
            (
                environment,
                initial_job_idx + i,
                overrides,
                self.hydra_context,
                self.config,
                self.task_function,
                state,
            )
            for i, overrides in enumerate(job_overrides)
        ]
        for i, overrides in enumerate(job_overrides):
            log.info("\t#%d : %s", initial_job_idx + i, " ".join(filter_overrides(overrides)))
        workers = None if self.scheduler else self.n_jobs
        with make_engine("dask", workers=workers, scheduler=self.scheduler) as engine:
            log.info("Dask launcher: %d jobs on %r", len(jobs), engine)
            return engine.map(_run_job, jobs)


def _run_job(environment: dict, *job: Any) -> JobReturn:
    os.environ.update(environment)
    return execute_job(*job)

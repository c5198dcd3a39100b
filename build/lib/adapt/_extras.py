"""The optional parts of adapt and the extra that installs each: a command whose extra is
missing says in one line which one to install."""

from __future__ import annotations

import importlib
from types import ModuleType

# module -> (extra, what needs it)
EXTRAS = {
    "mlflow": ("track", "MLflow tracking and models:/ URIs"),
    "hydra": ("experiments", "the experiments (adapt-experiment)"),
    "shap": ("explain", "SHAP plots"),
    "fastapi": ("serve", "the HTTP service (adapt serve)"),
    "uvicorn": ("serve", "the HTTP service (adapt serve)"),
    "dask": ("dask", "the dask engine"),
    "distributed": ("dask", "the dask engine"),
}


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra, in one line."""


def require(module: str) -> ModuleType:
    """`module` imported, or `MissingExtra` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra, what = EXTRAS[module.split(".")[0]]
        raise MissingExtra(
            f"{what} needs {module.split('.')[0]}, which is not installed: "
            f"pip install 'adapt[{extra}]'"
        ) from None

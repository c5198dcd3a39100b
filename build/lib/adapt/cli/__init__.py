"""The `adapt` command line: a thin shell over the library, one module per command group."""

from adapt.cli import _audit, _data, _models, _places, _serve  # noqa: F401  registers the commands
from adapt.cli._shared import main

__all__ = ["main"]

"""What every command shares: the options, the one-line errors, reading the inputs, and
the `adapt` group itself."""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from adapt._extras import MissingExtra
from adapt._files import TABLE_SUFFIXES, check_new

AUDIT_EXIT = {"passed": 0, "failed": 1, "cannot_judge": 3}
BAD_INPUT = 2  # the audit's exit for input it cannot read (1 is its verdict "failed")
# What the library raises for input it refuses (a file, a table, a setting), each error naming
# what is wrong and where: a command shows it as one line.
INPUT_ERRORS = (ValueError, TypeError, FileNotFoundError, FileExistsError)

if TYPE_CHECKING:
    from adapt.catalogue import Catalogue
_overwrite_option = click.option(
    "--overwrite",
    is_flag=True,
    help="Replace OUT if it exists (it is replaced only when the new result is complete).",
)

_model_option = click.option(
    "--model",
    "model_dir",
    required=True,
    help="Folder written by `adapt train` (any learner), or an MLflow model URI "
    "(models:/adapt-recommender@champion).",
)

_seed_option = click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="The one seed all randomness flows from.",
)

_level_option = click.option(
    "--level",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    help="Interval level [default: the model's].",
)

_data_option = click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="Folder with persons and episodes (Parquet, CSV or Excel .xlsx).",
)


class _CatalogueFile(click.Path):
    """A catalogue YAML, read and checked while the command line is parsed: a missing file, bad
    YAML or a file that is no catalogue is refused in one line, before any work."""

    name = "catalogue"

    def __init__(self):
        super().__init__(exists=True, dir_okay=False, path_type=Path)

    def convert(self, value, param, ctx):
        from adapt.catalogue import Catalogue, CatalogueError, load_catalogue

        if isinstance(value, Catalogue):
            return value
        path = super().convert(value, param, ctx)
        try:
            return load_catalogue(path)
        except CatalogueError as error:
            self.fail(str(error), param, ctx)
        except OSError as error:
            self.fail(f"{path}: cannot be read ({error.strerror or error})", param, ctx)


_chunk_option = click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=1_000,
    show_default=True,
    help="Persons handled at a time: memory follows the chunk, the result does not depend on it.",
)


def _usable_cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@contextmanager
def _progress(persons: int, label: str):
    """A progress bar on stderr over `persons`, updated by the callable it yields."""
    with click.progressbar(length=persons, label=label, file=sys.stderr) as bar:
        yield bar.update


_catalogue_option = click.option(
    "--catalogue",
    type=_CatalogueFile(),
    default=None,
    help="Catalogue YAML (interventions, regions, what each offers) to use instead of the "
    "built-in one; with --model, by default the one the model was trained with.",
)


def _engine_options(function):
    """--engine, --workers and --scheduler: where a chunked command runs."""
    options = [
        click.option(
            "--engine",
            type=click.Choice(["local", "dask"]),
            default="local",
            show_default=True,
            help="local: this machine's processes; dask: a Dask cluster (the dask extra). The "
            "result does not depend on it.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=None,
            help="Worker processes: local ones, or a LocalCluster's with --engine dask "
            "[default: 1 local, 2 dask]. The result does not depend on it.",
        ),
        click.option(
            "--scheduler",
            default=None,
            metavar="ADDRESS",
            help="With --engine dask: an existing cluster's scheduler (tcp://host:8786) "
            "instead of a LocalCluster; its workers must see the data and output folders.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def refuse(message: str, exit_code: int = 1) -> NoReturn:
    """End the command with ``Error: <message>`` (one line) and `exit_code`."""
    error = click.ClickException(message)
    error.exit_code = exit_code
    raise error from None


@contextmanager
def one_line_errors(*kinds: type[Exception], prefix: str = "", exit_code: int = 1):
    """The library's refusals raised inside (`kinds`, by default `INPUT_ERRORS`) end the
    command in one line, ``Error: <prefix><message>``, with `exit_code`."""
    caught = kinds or INPUT_ERRORS
    try:
        yield
    except caught as error:
        refuse(f"{prefix}{error}", exit_code)


@contextmanager
def _engine(kind: str, workers: int | None, scheduler: str | None):
    """The engine the options name, started before any work and closed after; one that cannot
    start (Dask missing, the scheduler unreachable) is refused in one line."""
    from adapt.engines import EngineError, make_engine

    with one_line_errors(EngineError, ValueError):
        engine = make_engine(kind, workers, scheduler)
    try:
        yield engine
    finally:
        engine.close()


class _OneLineErrors(click.Group):
    """A usage mistake ends in one line naming the command, the option and what is allowed,
    not click's usage block."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        with warnings.catch_warnings():  # restores Python's display when the command is done
            warnings.showwarning = _one_line_warning({})
            return self._main(args, prog_name, complete_var, standalone_mode, **extra)

    def _main(self, args, prog_name, complete_var, standalone_mode, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            returned = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:
            click.echo(error.format_message())  # a bare `adapt`: the help, as asked
            sys.exit(0)
        except click.UsageError as error:
            where = f"{error.ctx.command_path}: " if error.ctx is not None else ""
            click.echo(f"Error: {where}{error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except MissingExtra as error:
            click.echo(f"Error: {error}", err=True)
            sys.exit(1)
        sys.exit(returned if isinstance(returned, int) else 0)


def _one_line_warning(shown: dict):
    """A library warning as one line on stderr (no source line), each text once per command."""

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        if text not in shown:
            shown[text] = True
            click.echo(f"Warning: {text}", err=True)

    return show


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="adapt")
def main() -> None:
    """adapt: simulate, learn and recommend the next intervention on the way back to work."""


def _world(preset: str, overrides: tuple[str, ...], catalogue):
    """The world of --preset, --set and --catalogue (a path, or a catalogue `_catalogue_option`
    has read); every parameter's type and range checked here, before any person is drawn."""
    from adapt.catalogue import Catalogue, load_catalogue
    from adapt.simulation import World

    parsed = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--set")
        parsed[key.strip()] = _override_value(value)
    try:
        if catalogue is not None and not isinstance(catalogue, Catalogue):
            catalogue = load_catalogue(catalogue)
        return World.from_preset(preset, parsed, catalogue)
    except (ValueError, KeyError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None


def _override_value(text: str):
    """A --set value as YAML reads it (2, 0.5, [1, 2], {default: 1}), and 1e-3 as a number too."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text  # refused, with its parameter named, by the world's own check
    if isinstance(value, str):
        try:
            return float(value)  # YAML 1.1 wants 1.0e-3; people type 1e-3
        except ValueError:
            return value
    return value


def _contract_line(folder: Path, error) -> str:
    """A folder breaking the contract, in one line: its first violation and how to see all."""
    first, n = error.violations[0], len(error.violations)
    more = f" (and {n - 1} more: `adapt validate {folder}` lists them)" if n > 1 else ""
    return f"{folder} breaks the data contract: {first}{more}"


def _refuse_existing(out: Path, overwrite: bool) -> None:
    """Before any work: OUT exists and --overwrite was not given."""
    try:
        check_new(out, overwrite)
    except FileExistsError:
        raise click.ClickException(f"{out} exists; add --overwrite to replace it") from None


def _refuse_table_name(out: Path) -> None:
    if out.suffix.lower() not in TABLE_SUFFIXES:
        raise click.ClickException(f"--out must end in .parquet or .csv, got {out.name!r}")


def _read_valid_tables(folder: Path, catalogue=None):
    """persons and episodes from FOLDER; refused in one line if they break the contract."""
    from adapt.contract import ContractError, TableReadError, read_table, validate_tables

    try:
        persons = read_table(folder, "persons", catalogue)
        episodes = read_table(folder, "episodes", catalogue)
        validate_tables(persons, episodes, catalogue=catalogue)
    except ContractError as error:
        raise click.ClickException(_contract_line(folder, error)) from None
    except (TableReadError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    return persons, episodes


def _model_catalogue(model, catalogue, source) -> Catalogue:
    """The catalogue to read data for `model` with: the one it was trained with. A --catalogue
    given as well must be that one (same fingerprint), else it is refused in one line."""
    own = model.catalogue_
    if catalogue is not None and catalogue.fingerprint() != own.fingerprint():
        raise click.ClickException(
            f"--catalogue {catalogue.source} (fingerprint {catalogue.fingerprint()}) is not the "
            f"catalogue model {source} was trained with ({own.source}, fingerprint "
            f"{own.fingerprint()}); retrain with --catalogue, or leave --catalogue out to use "
            "the model's own"
        )
    return own


def _recommender(source: str):
    """The model and transitions at --model SOURCE (a folder or an MLflow model URI), by the
    loader the library and the service use; one that cannot be loaded is refused in one line
    naming it (exit 2)."""
    from adapt.recommender import load_recommender

    try:
        return load_recommender(source)
    except (ValueError, TypeError, FileNotFoundError) as error:
        raise click.BadParameter(str(error), param_hint="'--model'") from None


def _selection_table(auto) -> str:
    """What `auto` scored and chose, for the terminal."""
    table = auto.cv_results_.set_index("candidate")
    lines = [
        "candidate              status                 DR value [90 % interval]  "
        "gain over reference (joint band)"
    ]
    for name, row in table.iterrows():
        if row["status"].startswith("skipped"):
            lines.append(f"{name:<22} {row['status']}")
            continue
        lines.append(
            f"{name:<22} {row['status']:<22} {row['value']:.3f} [{row['low']:.3f}, "
            f"{row['high']:.3f}]     {row['gain']:+.3f} [{row['gain_low']:+.3f}, "
            f"{row['gain_high']:+.3f}]"
        )
    chosen = table.loc[auto.best_candidate_]
    lines.append(
        f"caseworkers (observed) {auto.caseworkers_value_:.3f}; the chosen gains "
        f"{chosen['over_caseworkers']:+.3f} [{chosen['over_caseworkers_low']:+.3f}, "
        f"{chosen['over_caseworkers_high']:+.3f}] over them"
    )
    if auto.fallback_:
        lines.append(
            "no candidate beats the caseworkers by more than its interval: the model "
            "recommends the usual path"
        )
    return "\n".join(lines)


def _bounds(lower: float, upper: float) -> str:
    return "no interval" if lower != lower else f"{lower:,.2f} to {upper:,.2f}"  # NaN: none

"""The `adapt` command line: a thin shell over the library."""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from adapt._extras import MissingExtra, require
from adapt._files import TABLE_SUFFIXES, check_new, staged, write_table

AUDIT_EXIT = {"passed": 0, "failed": 1, "cannot_judge": 3}  # 2 is bad input

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


@contextmanager
def _engine(kind: str, workers: int | None, scheduler: str | None):
    """The engine the options name, started before any work and closed after; one that cannot
    start (Dask missing, the scheduler unreachable) is refused in one line."""
    from adapt.engines import EngineError, make_engine

    try:
        engine = make_engine(kind, workers, scheduler)
    except (EngineError, ValueError) as error:
        raise click.ClickException(str(error)) from None
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


@main.command()
@click.option("--n-persons", type=click.IntRange(min=1), required=True, help="Persons to simulate.")
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="The one seed all randomness flows from.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write persons/, episodes/ and truth/ into.",
)
@click.option(
    "--preset",
    default="default",
    show_default=True,
    help="World preset (default, order_effects, order_pairs, strong_confounding, "
    "unobserved_confounder, gender_bias, gender_neutral) or a path to a preset YAML.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a world parameter, e.g. --set knobs.effect_scale=2 (repeatable).",
)
@_catalogue_option
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=50_000,
    show_default=True,
    help="Persons simulated at a time; the data do not depend on it.",
)
@_engine_options
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def generate(
    n_persons,
    seed,
    out,
    preset,
    overrides,
    catalogue,
    chunk_size,
    engine,
    workers,
    scheduler,
    overwrite,
):
    """Simulate a population and write it, with its ground truth, as Parquet datasets (one
    part per chunk)."""
    from adapt.simulation import generate as generate_population

    _refuse_existing(out, overwrite)
    world = _world(preset, overrides, catalogue)
    with _engine(engine, workers, scheduler) as running:
        try:
            summary = generate_population(
                out,
                n_persons,
                seed,
                world,
                chunk_size=chunk_size,
                overwrite=overwrite,
                engine=running,
            )
        except (ValueError, KeyError, FileExistsError) as error:
            raise click.ClickException(str(error)) from None
    click.echo(str(summary))


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_catalogue_option
def validate(folder, catalogue):
    """Check FOLDER's persons, episodes (and truth, if present) against the data contract."""
    from adapt.contract import check_folder

    try:
        violations = check_folder(folder, catalogue)
    except (FileNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if not violations:
        click.echo(f"{folder}: meets the data contract")
        return
    click.echo(f"{folder}: {len(violations)} contract violation(s)", err=True)
    for violation in violations:
        click.echo(f"  {violation}", err=True)
    sys.exit(1)


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


@main.command()
@click.argument(
    "folder", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--targets",
    default="mia",
    show_default=True,
    help="Target set name (synthetic_data/targets/NAME.yaml) or path.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 if a target is missed (with --seeds: if one does not hold at every seed).",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=2),
    help="Instead of FOLDER: simulate this many populations and report each figure's mean and "
    "spread over them.",
)
@click.option(
    "--first-seed",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="With --seeds: the seeds are FIRST-SEED, FIRST-SEED+1, ...",
)
@click.option(
    "--n-persons",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="With --seeds: persons per population.",
)
@click.option("--preset", default="default", show_default=True, help="With --seeds: world preset.")
@click.option(
    "--set", "overrides", multiple=True, metavar="KEY=VALUE", help="With --seeds: world override."
)
@_catalogue_option
def calibrate(folder, targets, strict, seeds, first_seed, n_persons, preset, overrides, catalogue):
    """Compare the population in FOLDER (or --seeds simulated ones) with published figures.

    On one population, a miss that sampling error explains (within the tolerance plus two
    standard errors) is shown as `sampling`, not FAIL; --strict still counts it as a miss.
    """
    from adapt.calibration import (
        calibration_over_seeds,
        calibration_report,
        format_report,
        format_seed_summary,
        load_targets,
    )

    if (folder is None) == (seeds is None):
        raise click.UsageError("give a FOLDER to compare, or --seeds N to simulate (not both)")
    if folder is not None and (overrides or preset != "default"):
        raise click.UsageError(
            "--preset and --set describe simulated worlds: use them with --seeds"
        )
    try:
        target_set = load_targets(targets)
    except (FileNotFoundError, ValueError) as error:
        raise click.ClickException(f"--targets: {error}") from None
    if seeds is not None:
        world = _world(preset, overrides, catalogue)
        summary = calibration_over_seeds(
            n_persons, range(first_seed, first_seed + seeds), world, target_set
        )
        click.echo(format_seed_summary(summary))
        if strict and not summary["holds"].all():
            sys.exit(1)
        return
    persons, episodes = _read_valid_tables(folder, catalogue)
    report = calibration_report(persons, episodes, target_set, catalogue)
    click.echo(format_report(report))
    if strict and not report["passed"].all():
        sys.exit(1)


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


@main.command()
@_data_option
@click.option(
    "--learner",
    type=click.Choice(["s", "t", "x", "dr", "sequence", "blend", "policy_tree", "auto"]),
    default="s",
    show_default=True,
    help="Learner: a meta-learner (s, t, x, dr), the sequence learner, which reads the "
    "ordered history, blend (the mean of S and sequence), policy_tree (four readable rules on "
    "doubly robust scores), or auto, "
    "which chooses among them (and their settings) by a truth-free criterion computed out "
    "of fold, and prints every candidate's score.",
)
@click.option(
    "--budget-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="With --learner auto: seconds the search may take (candidates in order, the "
    "reference always) [default: 1.5 times what the shared models and the reference took].",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write the fitted model into.",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--n-bags",
    type=click.IntRange(min=2),
    default=None,
    help="Half-samples of persons behind each estimate and its interval [default: 5].",
)
@click.option(
    "--include-sensitive/--exclude-sensitive",
    default=False,
    show_default=True,
    help="Gender and violence exposure as features. Left out by default, so the recommender "
    "is gender-blind: the same situation gets the same suggestions (docs/fairness.md).",
)
@_engine_options
@_catalogue_option
@_overwrite_option
def train(
    data,
    learner,
    budget_seconds,
    out,
    seed,
    n_bags,
    include_sensitive,
    engine,
    workers,
    scheduler,
    catalogue,
    overwrite,
):
    """Fit a multi-treatment uplift model on every decision point in DATA.

    With --catalogue the model is trained for that catalogue and carries it: recommend, plan,
    audit and serve then read data with it.
    """
    from adapt.features import decision_points
    from adapt.models import save_model
    from adapt.pipeline import AUTO, fitted_learner, make_model
    from adapt.planning import StepTransitions

    if budget_seconds is not None and learner != AUTO:
        raise click.BadParameter("only --learner auto searches", param_hint="'--budget-seconds'")
    _refuse_existing(out, overwrite)
    persons, episodes = _read_valid_tables(data, catalogue)
    model = make_model(
        learner, budget_seconds, random_state=seed, n_bags=n_bags, catalogue=catalogue
    )
    points = decision_points(
        persons,
        episodes,
        catalogue=catalogue,
        include_sensitive=include_sensitive,
        history=model.history,
    )
    with _engine(engine, workers, scheduler) as running:
        model.fit(
            points.features,
            points.treatment,
            points.outcome,
            groups=points.keys["person_id"],
            engine=running,
        )
    described = {"data": str(data), "n_decision_points": len(points), "seed": seed}
    if catalogue is not None:
        described["catalogue"] = catalogue.source
    if learner == AUTO:
        click.echo(_selection_table(model))
        described["selection"] = {
            "chosen": model.best_candidate_,
            "recommends_usual_path": model.fallback_,
            "candidates": model.cv_results_.to_dict("records"),
        }
        label = f"{model.best_candidate_}, chosen by auto,"
        model = fitted_learner(model)
    else:
        label = f"the {learner}-learner"
    if hasattr(model, "rules"):  # a policy tree says what it does in a few lines
        described["rules"] = model.rules()
        click.echo("\n".join(["rules:", *described["rules"]]))
    with staged(out, overwrite) as folder:
        save_model(model, folder, **described)
        # what `adapt plan` needs besides the model
        StepTransitions.fit(episodes, catalogue).save(folder)
    click.echo(
        f"trained {label} on {len(points):,} decision points "
        f"of {persons.shape[0]:,} persons; saved to {out}"
    )


@main.command()
@click.option(
    "--model",
    "model_dir",
    required=True,
    help="Folder written by `adapt train`, or an MLflow model URI "
    "(models:/adapt-recommender@champion).",
)
@_data_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write, .parquet or .csv: one row per decision point (per person with --next).",
)
@click.option(
    "--min-uplift",
    type=click.FloatRange(0, 1),
    default=None,
    help="Leave the usual path only where the lower bound of the best intervention's uplift "
    "over current practice is at least this.",
)
@click.option(
    "--interval",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    help="Add lo_<intervention> and hi_<intervention> bounds at this level (e.g. 0.9).",
)
@click.option(
    "--next",
    "next_decision",
    is_flag=True,
    help="One row per person: the decision after their last recorded episode (persons with "
    "no episode yet included), with the usual path and each intervention's p_, uplift_ and "
    "its interval, as recommend() answers.",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="With --next: write the persons the model can serve and list the others, with the "
    "reason, in OUT's <stem>.rejects.<ext> instead of failing.",
)
@_chunk_option
@_engine_options
@_catalogue_option
@_overwrite_option
def recommend(
    model_dir,
    data,
    out,
    min_uplift,
    interval,
    next_decision,
    skip_invalid,
    chunk_size,
    engine,
    workers,
    scheduler,
    catalogue,
    overwrite,
):
    """Recommend an intervention at every decision point in DATA (or, with --next, at each
    person's next decision)."""
    from adapt.policies import recommend_for_decisions

    _refuse_table_name(out)
    rejected = out.with_name(f"{out.stem}.rejects{out.suffix}")
    _refuse_existing(out, overwrite)
    if skip_invalid:
        _refuse_existing(rejected, overwrite)
    if next_decision and (min_uplift is not None or interval is not None):
        raise click.ClickException("--min-uplift and --interval do not apply to --next")
    if skip_invalid and not next_decision:
        raise click.ClickException("--skip-invalid applies to --next only")
    recommender = _recommender(model_dir)
    model = recommender.model
    persons, episodes = _read_valid_tables(data, _model_catalogue(model, catalogue, model_dir))
    rejects = None
    with _engine(engine, workers, scheduler) as running:
        try:
            with _progress(len(persons), "recommending") as progress:
                if next_decision:
                    table, rejects = recommender.next_decisions(
                        persons, episodes, skip_invalid, chunk_size, progress, running
                    )
                else:
                    table = recommend_for_decisions(
                        model,
                        persons,
                        episodes,
                        min_uplift,
                        interval,
                        chunk_size,
                        progress,
                        running,
                    )
        except (ValueError, TypeError, FileNotFoundError) as error:
            raise click.ClickException(str(error)) from None
    write_table(table, out, overwrite)
    what = "next decisions" if next_decision else "recommendations"
    click.echo(f"wrote {len(table):,} {what} to {out}")
    if skip_invalid:
        write_table(rejects, rejected, overwrite)
        click.echo(f"refused {len(rejects):,} person(s) the model cannot serve; see {rejected}")


@main.command()
@_model_option
@_data_option
@click.option(
    "--k",
    type=click.IntRange(1, 5),
    default=3,
    show_default=True,
    help="Interventions to plan, 1 to 5.",
)
@click.option(
    "--objective",
    type=click.Choice(["steps", "reach"]),
    default="steps",
    show_default=True,
    help="steps: expected steps gained over the k episodes; reach: probability of reaching "
    "--target-step within them.",
)
@click.option(
    "--target-step",
    type=click.IntRange(1, 5),
    default=3,
    show_default=True,
    help="The step the reach objective aims at.",
)
@click.option(
    "--beam-width",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Plan prefixes kept per person at each position (1: greedy chaining).",
)
@click.option(
    "--max-history",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Refuse persons with more recorded episodes than this.",
)
@click.option(
    "--search",
    type=click.Choice(["auto", "screened", "exact"]),
    default="auto",
    show_default=True,
    help="screened: beam search with one model, its finalists valued exactly with the full "
    "estimate; exact: the beam search itself with the full estimate, several times slower; "
    "auto: screened for a model fitted on 40,000 decision points or more, else exact.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write, .parquet or .csv: one row per person and position.",
)
@_chunk_option
@_engine_options
@_catalogue_option
@_overwrite_option
def plan(
    model_dir,
    data,
    k,
    objective,
    target_step,
    beam_width,
    max_history,
    search,
    out,
    chunk_size,
    engine,
    workers,
    scheduler,
    catalogue,
    overwrite,
):
    """Plan the next K interventions, in order, for every person in DATA."""
    from adapt.planning import Planner

    _refuse_table_name(out)
    _refuse_existing(out, overwrite)
    loaded = _recommender(model_dir)
    persons, episodes = _read_valid_tables(
        data, _model_catalogue(loaded.model, catalogue, model_dir)
    )
    try:
        planner = Planner(
            loaded.model,
            loaded.transitions,
            k=k,
            objective=objective,
            target_step=target_step,
            beam_width=beam_width,
            max_history=max_history,
            search=search,
        )
        with (
            _engine(engine, workers, scheduler) as running,
            _progress(len(persons), "planning") as progress,
        ):
            table = planner.plan(persons, episodes, chunk_size, progress, running)
    except (ValueError, TypeError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    write_table(table, out, overwrite)
    click.echo(f"wrote {k}-step plans of {len(persons):,} persons to {out}")


@main.command()
@_model_option
@_data_option
@click.option(
    "--places",
    "places_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="CSV (or .parquet) with columns region,intervention,places; a cell not listed has "
    "no places.",
)
@click.option(
    "--k",
    type=click.IntRange(1, 5),
    default=None,
    help="Value a place by the expected steps over a K-step plan starting with it [default: "
    "by the probability that it progresses].",
)
@click.option(
    "--rule",
    type=click.Choice(["best", "first_come"]),
    default="best",
    show_default=True,
    help="best: the allocation of most total value (exact); first_come: persons in the order "
    "they became free, each taking the best place left (a baseline).",
)
@click.option(
    "--cap-gap",
    type=click.FloatRange(0, 1),
    default=None,
    help="Keep every intervention's women/men gap in similar-situation rates of being given a "
    "place within this cap (as RateGapCap; 0.2 keeps ratios in 0.8-1.25).",
)
@_level_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write, .csv or .parquet: one row per person (intervention empty: waits). "
    "The cells (places, filled, value of one more place) go beside it as OUT_cells.",
)
@_chunk_option
@_engine_options
@_catalogue_option
@_overwrite_option
def allocate(
    model_dir,
    data,
    places_file,
    k,
    rule,
    cap_gap,
    level,
    out,
    chunk_size,
    engine,
    workers,
    scheduler,
    catalogue,
    overwrite,
):
    """Give scarce places to the persons in DATA waiting for their next intervention."""
    from adapt.allocation import PlacesError, read_places
    from adapt.fairness import capped_allocate
    from adapt.planning import allocate as allocate_places

    if cap_gap is not None and rule != "best":
        raise click.BadParameter("--cap-gap caps the best allocation, not --rule first_come")

    _refuse_table_name(out)
    cells_out = out.with_name(f"{out.stem}_cells{out.suffix}")
    for path in (out, cells_out):
        _refuse_existing(path, overwrite)
    loaded = _recommender(model_dir)
    own = _model_catalogue(loaded.model, catalogue, model_dir)
    persons, episodes = _read_valid_tables(data, own)
    try:
        places = read_places(places_file, own)
        settings = {"k": k, "transitions": loaded.transitions, "level": level}
        with (
            _engine(engine, workers, scheduler) as running,
            _progress(len(persons), "estimating") as progress,
        ):
            settings |= {"chunk_size": chunk_size, "progress": progress, "engine": running}
            if cap_gap is None:
                result = allocate_places(
                    loaded.model, persons, episodes, places, rule=rule, **settings
                )
            else:
                result = capped_allocate(
                    loaded.model, persons, episodes, places, cap_gap, **settings
                )
    except PlacesError as error:
        raise click.BadParameter(str(error), param_hint="'--places'") from None
    except (ValueError, TypeError) as error:
        raise click.ClickException(str(error)) from None
    write_table(result.persons, out, overwrite)
    write_table(result.cells, cells_out, overwrite)
    placed = int(result.persons["intervention"].notna().sum())
    click.echo(
        f"placed {placed:,} of {len(persons):,} persons ({len(persons) - placed:,} wait): "
        f"{result.value:,.1f} expected {result.objective} "
        f"({_bounds(result.value_lower, result.value_upper)}); wrote {out} and {cells_out}"
    )
    if result.cap is not None:
        cap = result.cap
        click.echo(
            f"  gender cap {cap['max_gap']:.2f}: largest gap {cap['greedy_gap']:.2f} without it, "
            f"{cap['gap']:.2f} with it" + ("" if cap["met"] else " (not met: too few persons)")
        )
    for row in result.cells.sort_values("value_of_place", ascending=False).head(5).itertuples():
        bounds = _bounds(row.value_of_place_lower, row.value_of_place_upper)
        click.echo(
            f"  one more {row.intervention} place in {row.region}: "
            f"+{row.value_of_place:.2f} ({bounds})"
        )


@main.command()
@_model_option
@_data_option
@click.option(
    "--months",
    type=click.IntRange(1, 60),
    default=12,
    show_default=True,
    help="Months ahead, from each person's next episode.",
)
@click.option(
    "--k",
    type=click.IntRange(1, 5),
    default=3,
    show_default=True,
    help="Plan length: each person re-plans K interventions after every episode.",
)
@click.option(
    "--rollouts",
    type=click.IntRange(1, 1000),
    default=None,
    help="Closed-loop rollouts [default: the model's half-samples, at least 2].",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@_level_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write demand.parquet (region, intervention, month) and report.html into.",
)
@_chunk_option
@_engine_options
@_catalogue_option
@_overwrite_option
def demand(
    model_dir,
    data,
    months,
    k,
    rollouts,
    seed,
    level,
    out,
    chunk_size,
    engine,
    workers,
    scheduler,
    catalogue,
    overwrite,
):
    """Starts each region would need if the ongoing persons in DATA followed their plans,
    month by month, beside today's; "need more" and "superfluous" where the interval says so."""
    from adapt._files import staged
    from adapt.planning import demand as plan_demand
    from adapt.planning import write_demand

    _refuse_existing(out, overwrite)
    loaded = _recommender(model_dir)
    own = _model_catalogue(loaded.model, catalogue, model_dir)
    persons, episodes = _read_valid_tables(data, own)
    level = loaded.model.interval_level if level is None else level
    ongoing = int((persons["exit_reason"] == "ongoing").sum())
    try:
        with (
            _engine(engine, workers, scheduler) as running,
            _progress(ongoing, "rolling out plans") as progress,
        ):
            result = plan_demand(
                loaded.model,
                persons,
                episodes,
                loaded.transitions,
                months=months,
                k=k,
                rollouts=rollouts,
                seed=seed,
                level=level,
                chunk_size=chunk_size,
                progress=progress,
                engine=running,
            )
    except (ValueError, TypeError) as error:
        raise click.ClickException(str(error)) from None
    with staged(out, overwrite) as staging:
        write_demand(result, own, staging, months=months, level=level)
    marks = result.totals["mark"].value_counts()
    click.echo(
        f"planned {result.persons:,} ongoing persons over {months} months "
        f"({result.rollouts} rollouts): {marks.get('need more', 0)} region and intervention "
        f"pairs need more than today, {marks.get('superfluous', 0)} fewer; wrote "
        f"{out / 'demand.parquet'} and {out / 'report.html'}"
    )


def _bounds(lower: float, upper: float) -> str:
    return "no interval" if lower != lower else f"{lower:,.2f} to {upper:,.2f}"  # NaN: none


@main.command()
@click.option(
    "--model",
    required=True,
    help="Folder written by `adapt train`, or an MLflow model URI "
    "(e.g. models:/adapt-recommender@champion).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port."
)
@click.option(
    "--demo",
    is_flag=True,
    help="Also serve the demo page at / (it authorises itself with a cookie, never the key).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Processes serving the port, each with the model loaded once [default: one per "
    "core this process may use].",
)
@_catalogue_option
def serve(model, host, port, demo, workers, catalogue):
    """Serve recommendations over HTTP (POST /v1/recommend); the key comes from ADAPT_API_KEY."""
    require("fastapi")  # the serve extra, named in one line when missing
    require("uvicorn")
    from adapt.service import serve as serve_http

    if catalogue is not None:  # the model must be the catalogue's: checked before listening
        from adapt.recommender import load_recommender

        try:
            loaded = load_recommender(model)  # kept: serving it loads it no second time
        except (ValueError, TypeError, FileNotFoundError) as error:
            raise click.ClickException(str(error)) from None
        _model_catalogue(loaded.model, catalogue, model)
    try:
        serve_http(model, host=host, port=port, demo=demo, workers=workers or _usable_cores())
    except (ValueError, FileNotFoundError) as error:
        raise click.ClickException(str(error)) from None


@main.command()
@_data_option
@click.option(
    "--model",
    "model_source",
    default=None,
    help="Audit this model's recommendations: a folder written by `adapt train` or an MLflow "
    "model URI.",
)
@click.option(
    "--recommendations",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Audit these choices instead: person_id, episode_no, recommended (.parquet or .csv), "
    "one row per decision point of DATA, as `adapt recommend` writes them.",
)
@click.option(
    "--allocation",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Audit an allocation of places instead: person_id, intervention (empty: waits), one "
    "row per person of DATA, as `adapt allocate` writes it (.csv or .parquet).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write audit.json and report.html into (with --model, model_card.md and "
    "model_card.html too).",
)
@click.option(
    "--thresholds",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML file overriding the default thresholds (adapt/fairness/thresholds.yaml).",
)
@click.option(
    "--cap-gap",
    type=click.FloatRange(0, 1),
    default=None,
    help="With --model: audit its choices after RateGapCap keeps every intervention's "
    "women/men gap in a similar situation within this cap (0.2 keeps ratios in 0.8-1.25).",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@_chunk_option
@_engine_options
@_catalogue_option
def audit(
    data,
    model_source,
    recommendations,
    allocation,
    out,
    thresholds,
    cap_gap,
    seed,
    chunk_size,
    engine,
    workers,
    scheduler,
    catalogue,
):
    """Audit recommendations (or an allocation of places) across gender; exit 0 when the audit
    passes (no judged check on the recommender or allocation fails), 1 when one fails, 3 when it
    cannot judge (too few women or men, or no check with enough recommendations), 2 for bad
    input."""
    import pandas as pd

    from adapt.contract import ContractError, find_table, read_table, validate_tables
    from adapt.fairness import (
        audit_allocation,
        audit_choices,
        capped_recommendations,
        load_thresholds,
        write_audit,
        write_model_card,
    )

    def refuse(message: str):
        click.echo(f"Error: {message}", err=True)
        sys.exit(2)

    if sum(x is not None for x in (model_source, recommendations, allocation)) != 1:
        refuse("give exactly one of --model, --recommendations and --allocation")
    if cap_gap is not None and model_source is None:
        refuse("--cap-gap needs --model: it moves the model's own choices")
    try:
        limits = load_thresholds(thresholds)
        model = None
        if model_source is not None:
            from adapt.recommender import load_recommender

            model = load_recommender(model_source).model
            try:  # the data are read with the model's catalogue
                catalogue = _model_catalogue(model, catalogue, model_source)
            except click.ClickException as error:
                refuse(error.message)
        persons, episodes = (read_table(data, name, catalogue) for name in ("persons", "episodes"))
        has_truth = find_table(data, "truth") is not None
        truth = read_table(data, "truth", catalogue) if has_truth else None
        validate_tables(persons, episodes, truth, catalogue)
        if recommendations is not None or allocation is not None:
            given = recommendations if recommendations is not None else allocation
            if not given.exists():
                refuse(f"{given}: no such file")
            suffix = given.suffix.lower()
            if suffix not in TABLE_SUFFIXES:
                refuse(f"{given}: expected a .parquet or .csv file, got {suffix!r}")
            choices = (
                pd.read_parquet(given)
                if suffix == ".parquet"
                else pd.read_csv(given, dtype={"person_id": str, "intervention": str})
            )
        else:
            from adapt.policies import recommend_for_decisions

            if cap_gap is None:
                with (
                    _engine(engine, workers, scheduler) as running,
                    _progress(len(persons), "recommending") as progress,
                ):
                    choices = recommend_for_decisions(
                        model,
                        persons,
                        episodes,
                        chunk_size=chunk_size,
                        progress=progress,
                        engine=running,
                    )
            else:
                choices = capped_recommendations(model, persons, episodes, cap_gap)
        if allocation is not None:
            result = audit_allocation(persons, episodes, choices, limits, catalogue, seed=seed)
        else:
            result = audit_choices(
                persons, episodes, choices, limits, catalogue, seed=seed, model=model, truth=truth
            )
    except (ContractError, FileNotFoundError, ValueError, TypeError) as error:
        refuse(str(error))
    write_audit(result, out)
    written = [out / "audit.json", out / "report.html"]
    if model is not None:
        source = {"source": "simulated" if truth is not None else "real", "path": str(data)}
        written += write_model_card(out, model, audit=result, data=source)
    checks = result.of("recommender")
    unjudged = len(result.of("recommender", "cannot_judge"))
    click.echo(
        f"audit {result.verdict.replace('_', ' ')}: {len(result.of('recommender', 'failed'))} "
        f"of {len(checks) - unjudged} judged {result.audited} checks failed, {unjudged} could not "
        f"be judged; wrote {', '.join(str(p) for p in written)}"
    )
    sys.exit(AUDIT_EXIT[result.verdict])


if __name__ == "__main__":
    main()

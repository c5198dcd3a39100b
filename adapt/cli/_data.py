"""Commands on data: generate, validate, calibrate."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from adapt.cli._shared import (
    INPUT_ERRORS,
    _catalogue_option,
    _engine,
    _engine_options,
    _read_valid_tables,
    _refuse_existing,
    _seed_option,
    _world,
    main,
    one_line_errors,
)


@main.command()
@click.option("--n-persons", type=click.IntRange(min=1), required=True, help="Persons to simulate.")
@_seed_option
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
    with (
        _engine(engine, workers, scheduler) as running,
        one_line_errors(*INPUT_ERRORS, KeyError),
    ):
        summary = generate_population(
            out, n_persons, seed, world, chunk_size=chunk_size, overwrite=overwrite, engine=running
        )
    click.echo(str(summary))


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_catalogue_option
def validate(folder, catalogue):
    """Check FOLDER's persons, episodes (and truth, if present) against the data contract."""
    from adapt.contract import check_folder

    with one_line_errors():
        violations = check_folder(folder, catalogue)
    if not violations:
        click.echo(f"{folder}: meets the data contract")
        return
    click.echo(f"{folder}: {len(violations)} contract violation(s)", err=True)
    for violation in violations:
        click.echo(f"  {violation}", err=True)
    sys.exit(1)


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
    with one_line_errors(prefix="--targets: "):
        target_set = load_targets(targets)
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

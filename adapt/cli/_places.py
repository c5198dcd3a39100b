"""Commands on places: allocate, demand."""

from __future__ import annotations

from pathlib import Path

import click

from adapt._files import staged, write_table
from adapt.cli._shared import (
    _bounds,
    _catalogue_option,
    _chunk_option,
    _data_option,
    _engine,
    _engine_options,
    _level_option,
    _model_catalogue,
    _model_option,
    _overwrite_option,
    _progress,
    _read_valid_tables,
    _recommender,
    _refuse_existing,
    _refuse_table_name,
    _seed_option,
    main,
    one_line_errors,
)


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
    with one_line_errors():
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
@_seed_option
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
    from adapt.planning import demand as plan_demand
    from adapt.planning import write_demand

    _refuse_existing(out, overwrite)
    loaded = _recommender(model_dir)
    own = _model_catalogue(loaded.model, catalogue, model_dir)
    persons, episodes = _read_valid_tables(data, own)
    level = loaded.model.interval_level if level is None else level
    ongoing = int((persons["exit_reason"] == "ongoing").sum())
    with (
        one_line_errors(),
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
    with staged(out, overwrite) as staging:
        write_demand(result, own, staging, months=months, level=level)
    marks = result.totals["mark"].value_counts()
    click.echo(
        f"planned {result.persons:,} ongoing persons over {months} months "
        f"({result.rollouts} rollouts): {marks.get('need more', 0)} region and intervention "
        f"pairs need more than today, {marks.get('superfluous', 0)} fewer; wrote "
        f"{out / 'demand.parquet'} and {out / 'report.html'}"
    )

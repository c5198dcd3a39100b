"""The gender audit: audit."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from adapt._files import TABLE_SUFFIXES
from adapt.cli._shared import (
    AUDIT_EXIT,
    BAD_INPUT,
    _catalogue_option,
    _chunk_option,
    _data_option,
    _engine,
    _engine_options,
    _model_catalogue,
    _progress,
    _seed_option,
    main,
    one_line_errors,
    refuse,
)


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
@_seed_option
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

    from adapt.contract import find_table, read_table, validate_tables
    from adapt.fairness import (
        audit_allocation,
        audit_choices,
        capped_recommendations,
        load_thresholds,
        write_audit,
        write_model_card,
    )

    if sum(x is not None for x in (model_source, recommendations, allocation)) != 1:
        refuse("give exactly one of --model, --recommendations and --allocation", BAD_INPUT)
    if cap_gap is not None and model_source is None:
        refuse("--cap-gap needs --model: it moves the model's own choices", BAD_INPUT)
    with one_line_errors(exit_code=BAD_INPUT):
        limits = load_thresholds(thresholds)
        model = None
        if model_source is not None:
            from adapt.recommender import load_recommender

            model = load_recommender(model_source).model
            try:  # the data are read with the model's catalogue
                catalogue = _model_catalogue(model, catalogue, model_source)
            except click.ClickException as error:
                refuse(error.message, BAD_INPUT)
        persons, episodes = (read_table(data, name, catalogue) for name in ("persons", "episodes"))
        has_truth = find_table(data, "truth") is not None
        truth = read_table(data, "truth", catalogue) if has_truth else None
        validate_tables(persons, episodes, truth, catalogue)
        if recommendations is not None or allocation is not None:
            given = recommendations if recommendations is not None else allocation
            if not given.exists():
                refuse(f"{given}: no such file", BAD_INPUT)
            suffix = given.suffix.lower()
            if suffix not in TABLE_SUFFIXES:
                refuse(f"{given}: expected a .parquet or .csv file, got {suffix!r}", BAD_INPUT)
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

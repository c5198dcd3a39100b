"""Commands on models: train, recommend, plan."""

from __future__ import annotations

from pathlib import Path

import click

from adapt._files import staged, write_table
from adapt.cli._shared import (
    _catalogue_option,
    _chunk_option,
    _data_option,
    _engine,
    _engine_options,
    _model_catalogue,
    _model_option,
    _overwrite_option,
    _progress,
    _read_valid_tables,
    _recommender,
    _refuse_existing,
    _refuse_table_name,
    _seed_option,
    _selection_table,
    main,
    one_line_errors,
)


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
@_seed_option
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
    with (
        _engine(engine, workers, scheduler) as running,
        one_line_errors(),
        _progress(len(persons), "recommending") as progress,
    ):
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
    with one_line_errors():
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
    write_table(table, out, overwrite)
    click.echo(f"wrote {k}-step plans of {len(persons):,} persons to {out}")

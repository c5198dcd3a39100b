"""Engines: the same results here and on a Dask LocalCluster, tasks lost with a worker run
again without corrupting the output, and an unreachable scheduler refused in one line."""

import os
from pathlib import Path

import cloudpickle
import pandas as pd
import pytest
from click.testing import CliRunner

import adapt.simulation._generate as generation
from adapt.cli import main
from adapt.engines import DaskEngine, EngineError, LocalEngine, make_engine
from adapt.planning import Planner
from adapt.policies import recommend_for_decisions
from adapt.simulation import generate

pytestmark = pytest.mark.timeout(180)
cloudpickle.register_pickle_by_value(__import__(__name__))  # workers cannot import tests/


@pytest.fixture(scope="module")
def dask_engine():
    with DaskEngine(workers=2) as engine:
        yield engine


def _square_plus(x, y):
    return x * x + y


def test_local_engines_keep_the_jobs_order_and_report_each_weight():
    jobs = [(i, 1) for i in range(7)]
    told = []
    for engine in (LocalEngine(1), LocalEngine(2)):
        assert engine.map(_square_plus, jobs, [3] * 7, told.append) == [i * i + 1 for i in range(7)]
    assert told == [3] * 14


def test_the_dask_engine_keeps_the_jobs_order(dask_engine):
    told = []
    result = dask_engine.map(_square_plus, [(i, 2) for i in range(20)], range(20), told.append)
    assert result == [i * i + 2 for i in range(20)]
    assert sorted(told) == list(range(20))
    assert dask_engine.workers == 2


def test_generate_writes_the_same_data_on_dask_as_here(tmp_path, dask_engine):
    generate(tmp_path / "here", 2_500, seed=5, chunk_size=700, progress=False)
    generate(tmp_path / "dask", 2_500, seed=5, chunk_size=700, progress=False, engine=dask_engine)
    for table in generation.TABLES:
        here = pd.read_parquet(tmp_path / "here" / table)
        there = pd.read_parquet(tmp_path / "dask" / table)
        pd.testing.assert_frame_equal(here, there)
    parts = sorted(p.name for p in (tmp_path / "dask" / "persons").iterdir())
    assert parts == [f"part-{i:05d}.parquet" for i in range(4)]


def test_recommendations_and_plans_are_the_same_on_dask(recommender, served_data, dask_engine):
    persons, episodes = served_data["persons"], served_data["episodes"]
    model = recommender.model
    here = recommend_for_decisions(model, persons, episodes, chunk_size=150)
    there = recommend_for_decisions(model, persons, episodes, chunk_size=150, engine=dask_engine)
    pd.testing.assert_frame_equal(here, there)
    planner = Planner(model, recommender.transitions, k=2)
    few, their = (
        persons.iloc[:120],
        episodes[episodes["person_id"].isin(persons["person_id"][:120])],
    )
    pd.testing.assert_frame_equal(
        planner.plan(few, their, chunk_size=50),
        planner.plan(few, their, chunk_size=50, engine=dask_engine),
    )


def _dies_once(marker, world, seed, start, stop, folder, part):
    """`_write_chunk`, but the first task to run kills its worker half-way through a part."""
    marker = Path(marker)
    if part == 1 and not marker.exists():
        marker.write_text("killed")
        partial = Path(folder) / "persons" / ".part-00001.parquet.dying"
        partial.write_bytes(b"half a part")
        os._exit(1)
    return generation._write_chunk(world, seed, start, stop, folder, part)


class _Killing:
    """A Dask engine whose generate tasks kill one worker once."""

    def __init__(self, engine, marker):
        self.engine, self.marker, self.workers = engine, marker, engine.workers

    def map(self, function, jobs, weights=None, progress=None):
        assert function is generation._write_chunk
        jobs = [(str(self.marker), *job) for job in jobs]
        return self.engine.map(_dies_once, jobs, weights, progress)


def test_a_worker_killed_mid_run_is_replaced_and_the_data_are_whole(tmp_path):
    with DaskEngine(workers=2) as engine:
        marker = tmp_path / "killed"
        generate(
            tmp_path / "dask",
            2_000,
            seed=9,
            chunk_size=500,
            progress=False,
            engine=_Killing(engine, marker),
        )
    assert marker.exists()  # a worker did die
    generate(tmp_path / "here", 2_000, seed=9, chunk_size=500, progress=False)
    for table in generation.TABLES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "here" / table), pd.read_parquet(tmp_path / "dask" / table)
        )
    assert not [p for p in (tmp_path / "dask" / "persons").iterdir() if p.name.startswith(".")]


def test_an_unreachable_scheduler_is_refused_in_one_line():
    with pytest.raises(EngineError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        DaskEngine(scheduler="tcp://127.0.0.1:9", connect_seconds=2)


def test_the_cli_refuses_an_unreachable_scheduler_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr("adapt.engines._engine.CONNECT_SECONDS", 2)
    result = CliRunner().invoke(
        main,
        ["generate", "--n-persons", "50", "--out", str(tmp_path / "w"), "--engine", "dask"]
        + ["--scheduler", "tcp://127.0.0.1:9"],
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Dask scheduler" in lines[0]
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize(
    ("kind", "settings", "message"),
    [
        ("spark", {}, "engine must be one of"),
        ("local", {"scheduler": "tcp://x:1"}, "needs the dask engine"),
        ("dask", {"workers": 2, "scheduler": "tcp://x:1"}, "not both"),
        ("local", {"workers": 0}, "workers must be a whole number"),
    ],
)
def test_bad_engine_settings_are_named(kind, settings, message):
    with pytest.raises(ValueError, match=message):
        make_engine(kind, **settings)


def test_adapt_generate_on_dask_writes_what_local_writes(tmp_path):
    runner = CliRunner()
    for engine in ("local", "dask"):
        result = runner.invoke(
            main,
            ["generate", "--n-persons", "900", "--seed", "2", "--chunk-size", "300"]
            + ["--out", str(tmp_path / engine), "--engine", engine, "--workers", "2"],
        )
        assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "local" / "episodes"),
        pd.read_parquet(tmp_path / "dask" / "episodes"),
    )


def test_allocation_estimates_and_demand_are_the_same_on_dask(
    recommender, served_data, dask_engine
):
    from adapt.planning import allocate, demand

    persons, episodes = served_data["persons"], served_data["episodes"]
    catalogue = recommender.model.catalogue_
    places = pd.DataFrame(
        [(r, c, 20) for r in catalogue.region_codes for c in catalogue.offered(r)],
        columns=["region", "intervention", "places"],
    )
    args = (recommender.model, persons, episodes, places)
    here = allocate(*args, chunk_size=200)
    there = allocate(*args, chunk_size=200, engine=dask_engine)
    pd.testing.assert_frame_equal(here.persons, there.persons)
    pd.testing.assert_frame_equal(here.cells, there.cells)
    settings = {"months": 3, "k": 1, "chunk_size": 40}
    model, transitions = recommender.model, recommender.transitions
    local = demand(model, persons, episodes, transitions, **settings)
    remote = demand(model, persons, episodes, transitions, **settings, engine=dask_engine)
    pd.testing.assert_frame_equal(local.table, remote.table)


@pytest.mark.parametrize("learner", ["s", "t", "sequence"])
def test_a_learner_fitted_on_dask_is_the_learner_fitted_here(served_data, dask_engine, learner):
    from adapt.features import decision_points
    from adapt.models import make_learner

    made = make_learner(learner, n_estimators=20, n_bags=3, random_state=1)
    points = decision_points(served_data["persons"], served_data["episodes"], history=made.history)
    args = (points.features, points.treatment, points.outcome, points.keys["person_id"])
    here = make_learner(learner, n_estimators=20, n_bags=3, random_state=1).fit(*args)
    there = made.fit(*args, engine=dask_engine)
    pd.testing.assert_frame_equal(here.predict(points.features), there.predict(points.features))
    low_here, _ = here.predict_interval(points.features)
    low_there, _ = there.predict_interval(points.features)
    pd.testing.assert_frame_equal(low_here, low_there)

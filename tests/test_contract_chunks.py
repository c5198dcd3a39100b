"""Persons a chunk at a time: every person once, with exactly their episodes, in order."""

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapt.contract import by_person_chunks, person_chunks
from adapt.simulation import simulate


@pytest.fixture(scope="module")
def data():
    return simulate(60, seed=4)


@settings(max_examples=25, deadline=None)
@given(size=st.integers(1, 70), shuffle=st.integers(0, 2**16))
def test_chunks_hold_every_person_once_with_exactly_their_episodes(data, size, shuffle):
    persons = data["persons"].sample(frac=1, random_state=shuffle)
    episodes = data["episodes"].sample(frac=1, random_state=shuffle + 1)
    chunks = list(person_chunks(persons, episodes, size))
    assert len(chunks) == -(-len(persons) // size)
    assert pd.concat([p for p, _ in chunks])["person_id"].tolist() == persons["person_id"].tolist()
    for chunk, their in chunks:
        assert set(their["person_id"]) <= set(chunk["person_id"])
        # in the order they came
        assert their.index.tolist() == sorted(their.index, key=episodes.index.get_loc)
    assert sum(len(e) for _, e in chunks) == len(episodes)


def test_work_by_chunks_is_concatenated_and_progress_counts_persons(data):
    seen = []
    table = by_person_chunks(
        lambda p, e: pd.DataFrame({"person_id": p["person_id"], "episodes": len(e)}),
        data["persons"],
        data["episodes"],
        size=25,
        progress=seen.append,
    )
    assert seen == [25, 25, 10]
    assert table["person_id"].tolist() == data["persons"]["person_id"].tolist()


@pytest.mark.parametrize("size", [0, -3, 2.5, True, "10"])
def test_a_chunk_size_that_is_not_a_positive_whole_number_is_refused(data, size):
    with pytest.raises(ValueError, match=f"chunk size must be a whole number.*got {size!r}"):
        list(person_chunks(data["persons"], data["episodes"], size))

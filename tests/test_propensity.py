"""The behaviour model's probabilities: offered arms only, the floor held after normalising."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from adapt.models._propensity import floor_probabilities


@settings(max_examples=200, deadline=None)
@given(
    raw=arrays(float, (20, 7), elements=st.floats(0, 1)),
    offered=arrays(bool, (20, 7)),
    floor=st.floats(0.0, 0.14),
)
def test_floor_holds_after_normalising(raw, offered, floor):
    offered[:, 0] = True
    probs = floor_probabilities(raw, offered, floor)
    assert np.allclose(probs.sum(axis=1), 1)
    assert (probs[~offered] == 0).all()
    assert (probs[offered] >= floor - 1e-12).all()


def test_arms_above_the_floor_keep_their_ratios():
    probs = floor_probabilities(np.array([[0.001, 0.3, 0.6]]), np.ones((1, 3), bool), 0.05)
    assert probs[0, 0] == pytest.approx(0.05)
    assert probs[0, 2] / probs[0, 1] == pytest.approx(2.0)


def test_a_floor_no_row_can_hold_is_refused():
    with pytest.raises(ValueError, match="min_propensity 0.3 is too large: 4 offered"):
        floor_probabilities(np.full((1, 4), 0.25), np.ones((1, 4), bool), 0.3)

"""The gender audit of recommendations (Fairlearn MetricFrame underneath)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapt.catalogue import load_catalogue
from adapt.fairness import audit_recommendations, plot_audit

CODES = load_catalogue().intervention_codes


def test_by_group_figures_are_the_group_means():
    choices = ["supported_employment", "case_management", "supported_employment", "guidance"] * 30
    groups = ["woman", "woman", "man", "man"] * 30
    value = np.tile([0.2, 0.4, 0.6, 0.8], 30)
    usual = np.tile([0.1, 0.1, 0.5, 0.5], 30)
    audit = audit_recommendations(
        choices, groups, value_of_choice=value, value_of_usual=usual, min_group_size=10
    )
    table = audit.by_group
    assert table.loc["woman", "n"] == 60 and table.loc["man", "n"] == 60
    assert table.loc["woman", "value"] == pytest.approx(0.3)
    assert table.loc["man", "value"] == pytest.approx(0.7)
    assert table.loc["woman", "gain"] == pytest.approx(0.2)
    assert table.loc["man", "gain"] == pytest.approx(0.2)
    assert table.loc["woman", "share_employment_support"] == pytest.approx(0.5)
    assert table.loc["man", "share_guidance"] == pytest.approx(0.5)
    assert audit.difference["value"] == pytest.approx(0.4)
    assert audit.difference["gain"] == pytest.approx(0.0)
    assert audit.difference["share_coordination"] == pytest.approx(0.5)


def test_small_groups_are_shown_but_not_compared():
    choices = ["guidance"] * 103
    groups = ["woman"] * 50 + ["man"] * 50 + ["unknown"] * 3
    value = np.r_[np.full(50, 0.5), np.full(50, 0.6), np.full(3, 0.0)]
    audit = audit_recommendations(choices, groups, value_of_choice=value, min_group_size=50)
    assert "unknown" in audit.by_group.index
    assert audit.difference["value"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="fewer than two groups"):
        audit_recommendations(choices, groups, value_of_choice=value, min_group_size=60)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="one length"):
        audit_recommendations(["guidance"], ["woman", "man"], value_of_choice=[0.5])
    with pytest.raises(ValueError, match="catalogue lacks: \\['yoga'\\]"):
        audit_recommendations(
            ["yoga", "guidance"], ["woman", "man"], value_of_choice=[0.1, 0.2], min_group_size=1
        )


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(CODES), st.sampled_from(["woman", "man"]), st.floats(0, 1)),
        min_size=2,
        max_size=60,
    )
)
def test_shares_sum_to_one_and_gaps_are_within_the_groups(rows):
    choices, groups, value = map(list, zip(*rows, strict=True))
    if len(set(groups)) < 2:
        return
    audit = audit_recommendations(choices, groups, value_of_choice=value, min_group_size=1)
    shares = audit.by_group.filter(like="share_")
    assert np.allclose(shares.sum(axis=1), 1.0)
    frame = pd.DataFrame({"g": groups, "v": value})
    means = frame.groupby("g")["v"].mean()
    assert audit.difference["value"] == pytest.approx(means.max() - means.min())


def test_plot_is_written(tmp_path):
    audit = audit_recommendations(
        ["guidance", "case_management"] * 5,
        ["woman", "man"] * 5,
        value_of_choice=np.linspace(0, 1, 10),
        value_of_usual=np.full(10, 0.5),
        min_group_size=1,
    )
    path = plot_audit(audit, tmp_path / "a" / "fairness.png")
    assert path.read_bytes()[:4] == b"\x89PNG"

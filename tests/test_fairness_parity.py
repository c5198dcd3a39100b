"""Women's and men's rates in a similar situation: the Mantel-Haenszel mix of situations, the
means standardised to it, the counts a rate check rests on, and how the gate treats a figure
resting on too few recommendations."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from adapt.catalogue import load_catalogue
from adapt.cli import main
from adapt.fairness import audit_choices, load_thresholds, rate_parity, situation_strata
from adapt.fairness._parity import group_means, stratum_mix
from adapt.features import decision_points
from adapt.simulation import simulate

# --- stratum_mix -----------------------------------------------------------------------------


def test_stratum_mix_by_hand():
    """Weights n_w n_m / (n_w + n_m): (2, 2) -> 1, (1, 100) -> 100/101, (1, 1) -> 1/2, and 0
    for a stratum of only men or only women; normalised to sum to 1."""
    counts = [[2, 2], [1, 100], [1, 1], [0, 5], [3, 0]]
    raw = np.array([1.0, 100 / 101, 0.5, 0.0, 0.0])
    mix = stratum_mix(counts)
    np.testing.assert_allclose(mix, raw / raw.sum())
    assert mix.sum() == pytest.approx(1.0, abs=1e-12)
    assert mix[3] == mix[4] == 0.0


def test_a_lopsided_stratum_weighs_no_more_than_its_smaller_group():
    """One woman among 100 men weighs 100/101 = 0.99, about what (2, 2) weighs and twice what
    (1, 1) weighs (0.5), however many men there are: the weight never reaches the smaller
    group's count (1), where weighting by everyone's count would give 101. (The module
    docstring says it "tells as little as one with a single woman and a single man": by the
    formula it tells about as much as two women and two men.)"""
    mix = stratum_mix([[1, 100], [1, 1], [2, 2], [1, 10**6]])
    relative = mix / mix[2]  # to the (2, 2) stratum, whose weight is 1
    np.testing.assert_allclose(relative, [100 / 101, 0.5, 1.0, 10**6 / (10**6 + 1)])
    assert relative[0] / relative[1] == pytest.approx(200 / 101)
    assert relative[1] < relative[0] < relative[3] < 1.0


def test_stratum_mix_over_leading_axes_and_without_any_shared_stratum():
    """Counts shaped (..., S, 2) are normalised over the strata of each leading index (one
    bootstrap draw each); when no stratum holds both women and men the mix is undefined (NaN)."""
    mix = stratum_mix(np.array([[[1, 1], [2, 2]], [[1, 3], [0, 0]]]))
    np.testing.assert_allclose(mix, [[1 / 3, 2 / 3], [1.0, 0.0]])
    assert np.isnan(stratum_mix([[0, 2], [3, 0]])).all()


# --- group_means -----------------------------------------------------------------------------


def _rows(strata_spec):
    """One row per person from (stratum, gender, persons, of whom recommended) tuples."""
    rows = []
    for stratum, gender, n, recommended in strata_spec:
        rows += [(stratum, gender, float(i < recommended)) for i in range(n)]
    table = pd.DataFrame(rows, columns=["stratum", "gender", "value"])
    return table.assign(person=np.arange(len(table)))


def _means(table, n_bootstrap=50):
    return group_means(
        table[["value"]].to_numpy(),
        table["gender"],
        table["stratum"],
        table["person"],
        n_bootstrap=n_bootstrap,
    )


def test_equal_rates_in_every_stratum_give_a_similar_ratio_of_exactly_one():
    """40 thin strata: in half, 1 woman and 4 men, all recommended; in the other half 4 women
    and 1 man, none recommended. Women and men have the same rate in every stratum, but their
    mixes differ, so overall women's rate is far below men's (27/107 against 80/109, counting
    the strata of one gender added below). In a similar situation both are 0.5 (each shared
    stratum weighs 4/5) and the ratio is exactly 1, in every bootstrap draw too: strata of only
    one gender and persons of unknown gender change nothing."""
    all_recommended = [(s, "woman", 1, 1) for s in range(0, 40, 2)]
    all_recommended += [(s, "man", 4, 4) for s in range(0, 40, 2)]
    none_recommended = [(s, "woman", 4, 0) for s in range(1, 40, 2)]
    none_recommended += [(s, "man", 1, 0) for s in range(1, 40, 2)]
    spec = all_recommended + none_recommended
    spec += [(40, "woman", 7, 7), (41, "man", 9, 0), (0, "unknown", 5, 0)]
    means = _means(_rows(spec))
    overall_women = (20 + 7) / (20 + 80 + 7)
    overall_men = 80 / (80 + 20 + 9)
    np.testing.assert_allclose(means.point[0, :, 0], [overall_women, overall_men])
    np.testing.assert_allclose(means.point[1, :, 0], [0.5, 0.5])
    ratio, low, high = means.ratio(0.9)
    assert ratio[1, 0] == 1.0 and low[1, 0] == high[1, 0] == 1.0
    assert ratio[0, 0] == pytest.approx(overall_women / overall_men)


def test_one_woman_among_many_men_cannot_swing_the_similar_ratio():
    """20 strata of 5 women and 5 men, 2 of each recommended (rate 0.4 both), and one stratum
    with a single woman, recommended, among 200 men at 0.4. Weighted by everyone's count
    (direct standardisation), that one woman lifts women's rate to (200 * 0.4 + 201) / 401 =
    0.70, a ratio of 1.75; with Mantel-Haenszel weights (2.5 per balanced stratum, 200/201 for
    the lopsided one) the ratio stays near 1 (1.03)."""
    spec = [(s, g, 5, 2) for s in range(20) for g in ("woman", "man")]
    spec += [(20, "woman", 1, 1), (20, "man", 200, 80)]
    means = _means(_rows(spec), n_bootstrap=0)
    w = np.array([2.5] * 20 + [200 / 201])
    women = (w[:20].sum() * 0.4 + w[20] * 1.0) / w.sum()
    np.testing.assert_allclose(means.point[1, :, 0], [women, 0.4])
    direct = (200 * 0.4 + 201 * 1.0) / 401 / 0.4
    assert direct == pytest.approx(1.75, abs=0.01)
    assert means.point[1, 0, 0] / means.point[1, 1, 0] == pytest.approx(1.029, abs=0.001)


def test_bootstrap_draws_resample_persons_not_rows():
    """40 women with 10 rows each, all of a person's rows valued alike (half the persons 1, half
    0): the women's mean varies across draws as a mean of 40 persons, sd sqrt(0.25 / 40) = 0.079,
    not of 400 rows (0.025). 400 draws estimate an sd to about 1 / sqrt(800) = 3.5 %; 15 %."""
    persons = np.repeat(np.arange(80), 10)
    gender = np.where(persons < 40, "woman", "man")
    values = (persons % 2).astype(float)[:, None]
    means = group_means(values, gender, np.zeros(len(persons), int), persons, n_bootstrap=400)
    assert means.replicates.shape == (400, 2, 2, 1)
    women = means.replicates[:, 0, 0, 0]
    assert women.std() == pytest.approx(np.sqrt(0.25 / 40), rel=0.15)
    assert means.point[0, 0, 0] == 0.5


def test_group_means_without_women_or_men_is_refused():
    """Only persons of unknown gender: nothing to compare."""
    with pytest.raises(ValueError, match="no decision point of a woman or a man"):
        group_means(np.ones((3, 1)), ["unknown"] * 3, [0, 0, 1], [1, 2, 3])


# --- rate_parity -----------------------------------------------------------------------------


def test_rate_parity_counts_and_rates_by_hand():
    """Stratum 0 holds women and men, stratum 1 only women, stratum 2 only a man; a person of
    unknown gender is in stratum 0. n_comparable counts only women's and men's recommendations in
    stratum 0; the similar rates come from stratum 0 alone."""
    rows = [
        (0, "woman", "A"),
        (0, "woman", "B"),
        (0, "man", "A"),
        (1, "woman", "A"),
        (1, "woman", "A"),
        (2, "man", "B"),
        (0, "unknown", "A"),
    ]
    strata, gender, chosen = (np.array(c, dtype=object) for c in zip(*rows, strict=True))
    table = rate_parity(
        chosen, gender, strata.astype(int), np.arange(7), ["A", "B", "C"], n_bootstrap=20
    ).set_index("intervention")
    assert table["n_recommended"].tolist() == [5, 2, 0]
    assert table["n_woman"].tolist() == [3, 1, 0]
    assert table["n_man"].tolist() == [1, 1, 0]
    assert table["n_comparable"].tolist() == [2, 1, 0]
    np.testing.assert_allclose(table["rate_woman"], [3 / 4, 1 / 4, 0])
    np.testing.assert_allclose(table["rate_man"], [1 / 2, 1 / 2, 0])
    np.testing.assert_allclose(table["similar_rate_woman"], [1 / 2, 1 / 2, 0])
    np.testing.assert_allclose(table["similar_rate_man"], [1, 0, 0])
    assert table.loc["A", "ratio"] == pytest.approx(1.5)
    assert table.loc["A", "similar_ratio"] == pytest.approx(0.5)
    assert table.loc["B", "similar_ratio"] == np.inf  # men in the shared stratum never got B
    assert np.isnan(table.loc["C", "similar_ratio"])  # nobody got C: 0 / 0


def test_rate_parity_refuses_an_intervention_outside_the_list():
    """A choice the list lacks is named in the error."""
    with pytest.raises(ValueError, match="catalogue lacks") as error:
        rate_parity(["A", "Z"], ["woman", "man"], [0, 0], [1, 2], ["A"], n_bootstrap=0)
    assert "Z" in str(error.value)


def test_the_refused_interventions_are_listed_plainly():
    with pytest.raises(ValueError, match=r"lacks: \['Z'\]$"):
        rate_parity(["A", "Z"], ["woman", "man"], [0, 0], [1, 2], ["A"], n_bootstrap=0)


# --- the gate on a simulated world -----------------------------------------------------------


@pytest.fixture(scope="module")
def world():
    data = simulate(1500, seed=8)
    points = decision_points(data["persons"], data["episodes"])
    return data, points


FAST = {"n_bootstrap": 100}  # fewer replicates than the default 500: the tests stay quick


def _rare_choice(points):
    """Choices that depend on the situation only, over the two interventions every region
    offers: the first in every stratum but one small stratum holding women and men, which gets
    the second. Returns the choices, the rare intervention and its women and men there."""
    catalogue = load_catalogue()
    everywhere = set.intersection(*(set(catalogue.offered(r)) for r in catalogue.region_codes))
    common, rare = sorted(everywhere)[:2]
    strata = situation_strata(points.features)
    gender = points.features["gender"].astype(str).to_numpy()
    counts = pd.crosstab(strata, gender)
    shared = counts[(counts["woman"] > 0) & (counts["man"] > 0)]
    size = shared["woman"] + shared["man"]
    stratum = size[(size >= 4) & (size <= 10)].index[0]
    chosen = np.where(strata == stratum, rare, common).astype(object)
    return chosen, rare, int(size[stratum])


def test_an_intervention_given_a_handful_of_times_cannot_be_judged(world):
    """The rare intervention's check is cannot_judge — no interval, `passed` None, a reason naming
    its count where women and men share a situation and min_recommended — while the common one
    is judged (and passes: its similar ratio is exactly 1), so the verdict is passed."""
    data, points = world
    chosen, rare, n = _rare_choice(points)
    limits = {**load_thresholds(), **FAST}
    result = audit_choices(
        data["persons"], data["episodes"], points.keys.assign(recommended=chosen), limits
    )
    row = next(r for r in result.figures["recommender"] if r["intervention"] == rare)
    assert row["n_comparable"] == n < limits["min_recommended"]
    check = next(c for c in result.of("recommender") if c.name == f"similar_rate_ratio[{rare}]")
    assert check.status == "cannot_judge" and check.passed is None and check.interval is None
    assert f"recommended {n} times" in check.reason
    assert f"at least {limits['min_recommended']} needed" in check.reason
    judged = [c for c in result.of("recommender") if c is not check]
    assert len(judged) == 1 and judged[0].status == "passed" and judged[0].value == 1.0
    # only the interventions recommended at all are checked
    assert {c.name for c in result.of("recommender")} == {check.name, judged[0].name}
    assert result.verdict == "passed" and result.passed is True
    assert result.summary["checks_cannot_judge_recommender"] == 1
    assert result.of("recommender", "cannot_judge") == [check]

    written = json.loads(json.dumps(result.to_json()))
    assert written == result.to_json()
    assert written["verdict"] == "passed" and written["passed"] is True
    statuses = {(c["subject"], c["name"]): (c["status"], c["passed"]) for c in written["checks"]}
    assert statuses["recommender", check.name] == ("cannot_judge", None)
    assert {s for s, _ in statuses.values()} <= {"passed", "failed", "cannot_judge"}
    assert len(written["checks"]) == len(result.checks)


def test_when_no_recommender_check_has_enough_recommendations_the_audit_cannot_judge(world):
    """Women and men enough to compare, but every rate check below min_recommended: verdict
    cannot_judge, `passed` None, and each check says why."""
    data, points = world
    chosen, _, _ = _rare_choice(points)
    limits = {**load_thresholds(), **FAST, "min_recommended": 10**6}
    result = audit_choices(
        data["persons"], data["episodes"], points.keys.assign(recommended=chosen), limits
    )
    assert result.compared
    recommender = result.of("recommender")
    assert recommender and all(c.status == "cannot_judge" and c.reason for c in recommender)
    assert result.verdict == "cannot_judge" and result.passed is None
    assert result.to_json()["verdict"] == "cannot_judge"


def test_cli_exits_3_when_women_or_men_are_too_few(world, tmp_path):
    """`adapt audit` with min_group_size above the number of persons: exit 3, "cannot judge"
    said, and audit.json written with verdict cannot_judge and no checks."""
    data, points = world
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("persons", "episodes"):
        data[name].to_parquet(folder / f"{name}.parquet", index=False)
    chosen, _, _ = _rare_choice(points)
    recommendations = tmp_path / "choices.csv"
    points.keys.assign(recommended=chosen).to_csv(recommendations, index=False)
    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text(f"min_group_size: {len(data['persons']) + 1}\nn_bootstrap: 20\n")
    done = CliRunner().invoke(
        main,
        [
            "audit",
            "--data",
            str(folder),
            "--recommendations",
            str(recommendations),
            "--thresholds",
            str(thresholds),
            "--out",
            str(tmp_path / "a"),
        ],
    )
    assert done.exit_code == 3, done.output
    assert "cannot judge" in done.output
    written = json.loads((tmp_path / "a" / "audit.json").read_text())
    assert written["verdict"] == "cannot_judge" and written["passed"] is None
    assert written["compared"] is False and written["checks"] == []

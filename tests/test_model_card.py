"""The model card: what it says of the model, the audit and the data, in Markdown and HTML, and
that it is logged beside every model MLflow records."""

import copy
import re
from html.parser import HTMLParser
from importlib import resources

import mlflow
import pytest
import yaml
from mlflow import MlflowClient

from adapt.catalogue import load_catalogue
from adapt.contract import CONTRACT_VERSION
from adapt.fairness import audit_choices, load_thresholds, model_card, write_model_card
from adapt.fairness._report import audit_json
from adapt.features import decision_points
from adapt.models import make_learner
from adapt.planning import StepTransitions
from adapt.policies import choose_best
from adapt.simulation import simulate
from adapt.tracking import connect, local_store, log_recommender

DATA = {"source": "simulated", "preset": "default", "n_persons": 300, "seed": 5}
FAILING = "similar_rate_ratio[ips]"


def _fit(points):
    model = make_learner("s", n_estimators=20, n_bags=2, random_state=0)
    return model.fit(
        points.features, points.treatment, points.outcome, groups=points.keys.person_id
    )


@pytest.fixture(scope="module")
def world():
    return simulate(300, seed=5, truth=False)


@pytest.fixture(scope="module")
def sighted(world):
    """A learner that reads gender and violence exposure."""
    return _fit(decision_points(world["persons"], world["episodes"]))


@pytest.fixture(scope="module")
def blind(world):
    """A learner fitted without the sensitive columns."""
    return _fit(decision_points(world["persons"], world["episodes"], include_sensitive=False))


@pytest.fixture(scope="module")
def real_audit(world, blind):
    """`audit_choices` of the blind learner's own recommendations (few resamples: fast)."""
    points = decision_points(world["persons"], world["episodes"], include_sensitive=False)
    recommendations = points.keys.assign(
        recommended=choose_best(blind.predict(points.features)).to_numpy()
    )
    thresholds = {**load_thresholds(), "n_bootstrap": 20, "min_recommended": 5}
    return audit_choices(world["persons"], world["episodes"], recommendations, thresholds)


def _check(subject, name, passed, value=0.5, interval=(0.3, 0.7)):
    return {
        "subject": subject,
        "name": name,
        "value": value,
        "interval": None if interval is None else list(interval),
        "threshold": [0.8, 1.25],
        "passed": passed,
    }


@pytest.fixture
def audit():
    """An audit as `audit_choices` returns it: one failing and one passing check on the
    recommender, one failing on behaviour, and a summary with keys the card does not know."""
    return {
        "n_decision_points": 812,
        "groups": {"woman": 470, "man": 330, "unknown": 12},
        "thresholds": {
            "similar_rate_ratio": 0.8,
            "min_recommended": 30,
            "level": 0.9,
            "n_bootstrap": 200,
        },
        "figures": {"recommender": [], "behaviour": []},
        "checks": [
            _check("recommender", FAILING, False, 0.61, (0.52, 0.74)),
            _check("recommender", "similar_rate_ratio[guidance]", True, 0.97, (0.85, 1.1)),
            _check("behaviour", "similar_rate_ratio[boston_model]", False, 1.6, (1.3, 2.2)),
        ],
        "passed": False,
        "summary": {"worst_recommender_ratio": 0.61, "some_new_figure": None},
    }


def _headings(markdown: str) -> list[str]:
    return [line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("#")]


def _section(markdown: str, heading: str) -> str:
    return markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]


class _Page(HTMLParser):
    """Checks every element closes in order; collects the headings' text."""

    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self):
        super().__init__()
        self.open, self.headings, self.errors, self._heading = [], [], [], None

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = ""

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:]}")
        else:
            self.open.pop()
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(self._heading.strip())
            self._heading = None

    def handle_data(self, data):
        if self._heading is not None:
            self._heading += data


def test_card_names_learner_fingerprint_contract_and_reads_gender(sighted):
    card = model_card(sighted, version="adapt-recommender version 7", date="2025-03-01")
    assert "SLearner" in card.splitlines()[0]
    assert load_catalogue().fingerprint() in card
    assert f"**Data contract version:** {CONTRACT_VERSION}" in card
    assert "adapt-recommender version 7" in card and "2025-03-01" in card
    assert "**Gender-blind: no.**" in card and "Gender-blind: yes" not in card
    assert "`n_bags` | 2 |" in card  # the settings
    assert "never given as a reason" in card


def test_a_learner_fitted_without_the_sensitive_columns_is_gender_blind(blind):
    card = model_card(blind)
    assert "**Gender-blind: yes.**" in card and "Gender-blind: no" not in card
    assert "`gender`" not in _section(card, "Features")
    assert "No fairness audit was given" in card
    assert "No validation metrics were given" in card


def test_card_shows_the_failing_checks_thresholds_and_summary(blind, audit):
    card = model_card(blind, audit=audit, metrics={"regret_closure": 0.4321})
    fairness = _section(card, "Fairness audit")
    assert "**Verdict: failed.**" in fairness
    assert "### Checks that failed (2)" in fairness
    failed = fairness.split("### Checks that failed", 1)[1].split("###", 1)[0]
    assert f"`{FAILING}` | 0.61 | 0.52 to 0.74 | allowed 0.8 to 1.25" in failed
    assert "`similar_rate_ratio[boston_model]`" in failed
    assert "guidance" not in failed  # it passed
    assert "| recommender: what the model recommends | 2 | 1 | 1 |" in fairness
    assert "| behaviour: what caseworkers chose, in the data | 1 | 0 | 1 |" in fairness
    for name, value in (("similar_rate_ratio", "0.8"), ("min_recommended", "30")):
        assert f"| `{name}` | {value} |" in fairness
    assert "| worst recommender ratio | 0.61 |" in fairness
    assert "| some new figure | not available |" in fairness
    assert "unknown 12" in fairness
    assert "| `regret_closure` | 0.4321 |" in _section(card, "Validation metrics")
    assert "**Verdict: passed.**" in model_card(blind, audit={**audit, "passed": True})
    too_few = {**audit, "compared": False, "figures": {}, "checks": [], "summary": {}}
    too_few.update(passed=False, model={"learner": "TLearner", "reads": []})
    card = model_card(blind, audit=too_few)
    assert "**Verdict: failed.**" in card and "too few to compare" in card
    assert "No checks were made." in card and "### Checks that failed (0)" in card
    assert "the audit used the estimates of a `TLearner`" in card


def test_card_says_what_the_model_must_not_be_used_for(blind):
    card = model_card(blind)
    headings = _headings(card)
    for heading in (
        "Model details",
        "Intended use and users",
        "Must not be used for",
        "Data provenance",
        "Features",
        "Validation metrics",
        "Fairness audit",
        "Known limits",
        "Regulatory note",
    ):
        assert heading in headings
    must_not = _section(card, "Must not be used for")
    for words in ("withdrawing benefits", "ranking, scoring", "sanctions", "automated decisions"):
        assert words in must_not
    assert "Hitta rätt" in _section(card, "Intended use and users")
    assert "Annex III, point 5(a)" in _section(card, "Regulatory note")
    assert "not real effects" in _section(card, "Known limits")


def test_no_person_appears_in_the_card(world, blind, real_audit, tmp_path):
    markdown, page = write_model_card(tmp_path, blind, audit=real_audit, data=DATA)
    ids = set(world["persons"]["person_id"].astype(str))
    for text in (markdown.read_text("utf-8"), page.read_text("utf-8")):
        assert not ids & set(re.findall(r"[A-Za-z0-9_]+", text))
    card = markdown.read_text("utf-8")
    assert "trained on **simulated** data" in card
    assert "| n\\_persons | 300 |" in card
    assert f"{audit_json(real_audit)['n_decision_points']:,} decision points" in card
    # A table (of persons, or anything else) is refused, whatever it holds.
    with pytest.raises(ValueError, match="plain values"):
        model_card(blind, data={**DATA, "persons": world["persons"]})


def test_html_is_well_formed_with_the_markdown_headings(blind, audit, tmp_path):
    data = {**DATA, "path": "/data/<x>|y.parquet"}
    markdown, page = write_model_card(tmp_path / "card", blind, audit=audit, data=data)
    assert (markdown.name, page.name) == ("model_card.md", "model_card.html")
    text = page.read_text("utf-8")
    assert text.startswith("<!doctype html>") and "<style>" in text and "<script" not in text
    parser = _Page()
    parser.feed(text)
    parser.close()
    assert not parser.errors and not parser.open
    assert parser.headings == _headings(markdown.read_text("utf-8"))
    assert "<table>" in text and FAILING in text
    assert "/data/&lt;x&gt;|y.parquet" in text  # escaped, one table cell


@pytest.fixture
def store(tmp_path):
    uri, artifacts = local_store(tmp_path / "mlruns")
    experiment_id = connect(uri, "card", artifacts)
    yield experiment_id
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def test_log_recommender_logs_the_card_beside_the_model(
    world, blind, audit, store, tmp_path, monkeypatch
):
    # MLflow's inference of pip requirements imports the model in a subprocess (most of the
    # time logging takes); the card does not depend on it and the registry tests cover it.
    monkeypatch.setattr(
        mlflow.models, "infer_pip_requirements", lambda *args, fallback=None, **kw: fallback
    )
    transitions = StepTransitions.fit(world["episodes"])
    with mlflow.start_run(experiment_id=store):
        version = log_recommender(
            blind,
            "card-test",
            transitions=transitions,
            audit=audit,
            metrics={"regret_closure": 0.4321},
            data=DATA,
        )
    client = MlflowClient()
    listed = {a.path for a in client.list_artifacts(version.run_id, "model_card")}
    assert listed == {"model_card/model_card.md", "model_card/model_card.html"}
    folder = mlflow.artifacts.download_artifacts(
        run_id=version.run_id, artifact_path="model_card", dst_path=str(tmp_path / "got")
    )
    card = (tmp_path / "got" / "model_card" / "model_card.md").read_text("utf-8")
    assert folder.endswith("model_card")
    assert f"card-test version {version.version}" in card and version.run_id in card
    assert "SLearner" in card and "**Gender-blind: yes.**" in card
    assert f"`{FAILING}`" in card and "| `regret_closure` | 0.4321 |" in card
    page = (tmp_path / "got" / "model_card" / "model_card.html").read_text("utf-8")
    assert "<h2>Must not be used for</h2>" in page


EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
SPECIAL = "similar_rate_ratio[a|b*c*]"  # Markdown's table separator and emphasis


def _row_widths(page: str) -> list[set[int]]:
    """The numbers of cells in the rows of each table of `page`: one number per table when
    no name split or merged a cell."""
    return [
        {len(re.findall(r"<t[dh][ >]", row)) for row in re.findall(r"<tr>.*?</tr>", table, re.S)}
        for table in re.findall(r"<table>.*?</table>", page, re.S)
    ]


def test_names_holding_html_or_markdown_specials_are_escaped_in_the_card(blind, audit, tmp_path):
    raw = yaml.safe_load(
        resources.files("adapt.catalogue").joinpath("catalogue.yaml").read_text("utf-8")
    )
    raw["interventions"]["guidance"]["en"] = f"{EVIL} *guide* | me"
    raw["regions"]["hbs"]["name"] = EVIL
    (tmp_path / "catalogue.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    model = copy.copy(blind)
    model.catalogue = model.catalogue_ = load_catalogue(tmp_path / "catalogue.yaml")
    audit = copy.deepcopy(audit)
    audit["checks"] += [
        _check("recommender", f"similar_rate_ratio[{EVIL}]", False),
        _check("recommender", SPECIAL, False),
        {
            **_check("behaviour", "similar_rate_ratio[ips]", None, value=None, interval=None),
            "status": "cannot_judge",
            "reason": f"too few {EVIL}",
        },
    ]
    audit["groups"][EVIL] = 1
    audit["summary"][EVIL] = 0.5
    audit.update(verdict="failed", model={"learner": EVIL, "reads": []})
    markdown, page = write_model_card(
        tmp_path / "card", model, audit=audit, data={**DATA, "note": EVIL}, version=EVIL
    )
    text = page.read_text("utf-8")
    assert "<script" not in text.lower()
    assert text.count(ESCAPED) >= 7  # name, check, reason, group, summary, learner, note...
    assert re.search(rf"<td[^>]*>{re.escape(SPECIAL)}</td>", text)  # one cell, no emphasis
    assert "<em>guide</em>" not in text and "*guide* | me" in text
    assert all(len(widths) == 1 for widths in _row_widths(text))
    parser = _Page()
    parser.feed(text)
    parser.close()
    assert not parser.errors and not parser.open
    card = markdown.read_text("utf-8")
    assert "### Checks that cannot be judged (1)" in card
    assert "| subject | checks | passed | failed | cannot judge |" in card
    assert "| behaviour: what caseworkers chose, in the data | 2 | 0 | 1 | 1 |" in card
    assert "hold jointly over all checks of a subject" in card


def test_a_verdict_that_cannot_judge_is_neither_passed_nor_failed(blind, audit):
    checks = [{**c, "status": "cannot_judge", "passed": None} for c in audit["checks"]]
    card = model_card(blind, audit={**audit, "checks": checks, "verdict": "cannot_judge"})
    assert "**Verdict: cannot judge.**" in card and "### Checks that failed (0)" in card
    assert "### Checks that cannot be judged (3)" in card
    assert "| recommender: what the model recommends | 2 | 0 | 0 | 2 |" in card
    too_few = {**audit, "compared": False, "checks": [], "verdict": "cannot_judge"}
    card = model_card(blind, audit=too_few)
    assert "the audit could not judge the model." in card and "counts as failed" not in card


def test_an_audit_object_is_read_through_its_to_json(blind, audit):
    class Result:
        def to_json(self):
            return audit

    assert model_card(blind, audit=Result()) == model_card(blind, audit=audit)

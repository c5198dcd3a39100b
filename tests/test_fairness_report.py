"""The audit report (report.html): names from a user's catalogue are escaped, a check that cannot
be judged shows as such, and audits of the older audit.json form still render."""

import copy
import json
import re
from html.parser import HTMLParser
from importlib import resources

import pytest
import yaml

from adapt.catalogue import load_catalogue
from adapt.fairness import audit_choices, load_thresholds, write_audit
from adapt.fairness._report import report_html
from adapt.features import decision_points
from adapt.simulation import simulate

EVIL = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
# Renamed in the catalogue and in the simulated data: an intervention and a region.
INTERVENTION, REGION = "guidance", "stockholms_stad"


def _evil_catalogue(path):
    text = resources.files("adapt.catalogue").joinpath("catalogue.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    raw["interventions"] = {
        (EVIL if code == INTERVENTION else code): entry
        for code, entry in raw["interventions"].items()
    }
    raw["interventions"][EVIL].update(sv=EVIL, en=EVIL)
    for region in raw["regions"].values():
        region["offers"] = [EVIL if code == INTERVENTION else code for code in region["offers"]]
    raw["regions"] = {(EVIL if c == REGION else c): r for c, r in raw["regions"].items()}
    raw["regions"][EVIL]["name"] = EVIL
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return load_catalogue(path)


@pytest.fixture(scope="module")
def evil(tmp_path_factory):
    """The audit of caseworkers' own choices in a world whose catalogue names an intervention
    and a region ``<script>alert(1)</script>``, written out."""
    folder = tmp_path_factory.mktemp("evil")
    catalogue = _evil_catalogue(folder / "catalogue.yaml")
    data = simulate(400, seed=3, truth=False)
    data["persons"]["region"] = data["persons"]["region"].replace({REGION: EVIL})
    data["episodes"]["intervention"] = data["episodes"]["intervention"].replace(
        {INTERVENTION: EVIL}
    )
    points = decision_points(data["persons"], data["episodes"], catalogue)
    assert (points.treatment.astype(str) == EVIL).any()
    recommendations = points.keys.assign(recommended=points.treatment.astype(object).to_numpy())
    thresholds = {**load_thresholds(), "n_bootstrap": 20, "min_recommended": 5}
    result = audit_choices(
        data["persons"], data["episodes"], recommendations, thresholds, catalogue=catalogue
    )
    write_audit(result, folder / "audit")
    return folder / "audit"


class _Page(HTMLParser):
    """Every element closed in order; the text of every `td` with its class."""

    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self, text: str):
        super().__init__()
        self.open, self.errors, self.cells, self._cell = [], [], [], None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)
        if tag == "td":
            self._cell = [dict(attrs).get("class") or "", ""]

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:]}")
        else:
            self.open.pop()
        if tag == "td":
            self.cells.append(tuple(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data


def _well_formed(page: str) -> _Page:
    parsed = _Page(page)
    assert not parsed.errors and not parsed.open
    return parsed


def test_a_catalogue_name_holding_a_script_is_escaped_in_the_report(evil):
    page = (evil / "report.html").read_text("utf-8")
    assert ESCAPED in page
    assert "<script" not in page.lower()  # the page has no script at all
    assert EVIL in {text for _, text in _well_formed(page).cells}  # shown as the name it is
    # audit.json keeps the name as it is: it is data, escaped only where HTML is written
    audit = json.loads((evil / "audit.json").read_text("utf-8"))
    assert EVIL in {r["intervention"] for r in audit["figures"]["recommender"]}


def _judged(audit: dict) -> dict:
    """`audit` with its first recommender check failed and its second one undecided, and a
    check, a gender and an intersection named like a script."""
    audit = copy.deepcopy(audit)
    checks = [c for c in audit["checks"] if c["subject"] == "recommender"]
    checks[0].update(name=f"similar_rate_ratio[{EVIL}]", status="failed", passed=False)
    checks[1].update(
        status="cannot_judge",
        passed=None,
        value=None,
        interval=None,
        reason=f"recommended 3 times; at least 5 needed {EVIL}",
    )
    audit.update(verdict="failed", passed=False)
    audit["flip"] = {
        "reads_gender": True,
        "changed_share": 0.1,
        "by_gender": {EVIL: {"n": 10, "changed_share": 0.1, "mean_abs_change": 0.01}},
    }
    audit["intersections"][0].update(level=EVIL, compared=False)
    return audit


def test_every_name_of_a_hand_made_audit_is_escaped(evil):
    audit = _judged(json.loads((evil / "audit.json").read_text("utf-8")))
    page = report_html(audit)
    assert "<script" not in page.lower()
    assert page.count(ESCAPED) >= 6  # check, reason, gender, intersection, two rate tables
    _well_formed(page)


def test_a_check_that_cannot_be_judged_is_neither_passed_nor_failed(evil):
    audit = _judged(json.loads((evil / "audit.json").read_text("utf-8")))
    page = report_html(audit)
    failed = page.split("<h2>Checks that failed", 1)[1].split("<h2>", 1)[0]
    undecided = page.split("<h2>Checks that cannot be judged (1 of ", 1)[1].split("<h2>", 1)[0]
    cells = _Page(undecided).cells
    reason = f"cannot judge: recommended 3 times; at least 5 needed {EVIL}"
    assert ("text undecided", reason) in cells
    assert not any("pass" in css or "fail" in css for css, _ in cells)
    assert "cannot judge" not in failed and ("text fail", "failed") in _Page(failed).cells
    assert "simultaneous bands" in page and "jointly over all checks of a subject" in page
    assert "1 could not be judged." in page

    audit.update(verdict="cannot_judge", passed=None)
    page = report_html(audit)
    assert "<title>Gender audit: cannot judge</title>" in page
    assert '<span class="undecided">cannot judge</span>' in page


def test_an_audit_too_small_to_compare_cannot_judge():
    audit = {
        "n_decision_points": 40,
        "persons": {"woman": 10, "man": 8, "unknown": 0},
        "thresholds": {**load_thresholds(), "min_group_size": 50},
        "compared": False,
        "checks": [],
        "verdict": "cannot_judge",
        "passed": None,
    }
    page = report_html(audit)
    assert '<p class="undecided">Fewer than 50 women or men' in page
    assert "cannot judge the recommender" in page
    old = {k: v for k, v in audit.items() if k != "verdict"} | {"passed": False}
    assert "so the audit cannot pass" in report_html(old)


def test_an_older_audit_json_without_status_still_renders(evil):
    audit = json.loads((evil / "audit.json").read_text("utf-8"))
    for key in ("verdict", "families"):
        audit.pop(key, None)
    for check in audit["checks"]:
        for key in ("status", "reason"):
            check.pop(key, None)
    audit["checks"][0]["passed"] = False
    page = report_html(audit)
    assert "<title>Gender audit: passed</title>" in page  # the verdict is its `passed`
    assert "Checks that failed (1 of" in page and "cannot be judged" not in page
    assert "simultaneous" not in page  # its intervals were per check
    _well_formed(page)


def test_an_audit_object_is_read_through_its_to_json(evil, tmp_path):
    audit = json.loads((evil / "audit.json").read_text("utf-8"))

    class Result:
        def to_json(self):
            return audit

    write_audit(Result(), tmp_path)
    assert json.loads((tmp_path / "audit.json").read_text("utf-8")) == audit
    assert re.sub(r"base64,[^\"]+", "", (tmp_path / "report.html").read_text("utf-8")) == (
        re.sub(r"base64,[^\"]+", "", report_html(audit))
    )

"""The demo page "Hitta rätt" end to end: `adapt serve --demo` driven in headless Chromium.

Playwright drives Debian's `chromium` (`make test` installs it; Playwright's own browser
download is never used). axe-core (bundled by axe-playwright-python) checks the page with its
results. The screenshot goes to ``docs/hitta-ratt.png`` only with ``ADAPT_UPDATE_SCREENSHOT=1``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect, sync_playwright

API_KEY = f"browser-test-key-{secrets.token_hex(12)}"
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "hitta-ratt.png"
UPDATE_SCREENSHOT = "ADAPT_UPDATE_SCREENSHOT"
REGION = "roslagen"  # offers 7 of the catalogue's interventions
PAST = "case_management"

pytestmark = pytest.mark.timeout(120)


def _chromium() -> str:
    path = os.environ.get("ADAPT_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "chromium not found on PATH: the browser test drives Debian's chromium; "
            "`make test` installs it (apt-get install chromium), or set ADAPT_CHROMIUM"
        )
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode("utf-8")


@pytest.fixture(scope="module")
def demo_server(model_folder, tmp_path_factory):
    """`adapt serve --model FOLDER --port N --demo` with ADAPT_API_KEY set; its base URL."""
    port = _free_port()
    adapt = Path(sys.executable).with_name("adapt")
    command = (
        [str(adapt)]
        if adapt.exists()
        else [sys.executable, "-c", "from adapt.cli import main; main()"]
    )
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "ADAPT_API_KEY": API_KEY}
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, "serve", "--model", str(model_folder), "--port", str(port), "--demo"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            if process.poll() is not None:
                pytest.fail(f"adapt serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                if _get(f"{base}/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"adapt serve did not answer /health in 45 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        yield browser
        browser.close()


def _assert_accessible(page, lang: str) -> None:
    """axe-core finds nothing of serious or critical impact; every finding is printed."""
    axe = Axe().run(page)
    violations = axe.response["violations"]
    summary = [f"{v['id']} ({v['impact']}): {len(v['nodes'])} node(s)" for v in violations]
    print(f"axe-core violations ({lang}):", summary or "none")
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, axe.generate_report()


def test_hitta_ratt_end_to_end(demo_server, browser, tmp_path):
    context = browser.new_context(
        viewport={"width": 1100, "height": 900}, locale="sv-SE", device_scale_factor=1
    )
    page = context.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request))
    page.set_default_timeout(15_000)

    # -- Swedish first, every field labelled in plain words --------------------------------------
    page.goto(f"{demo_server}/")
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hitta rätt")
    expect(page.get_by_role("button", name="English")).to_be_visible()
    page.keyboard.press("Tab")  # keyboard only: the skip link comes first, its focus visible
    expect(page.get_by_role("link", name="Hoppa till innehållet")).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    for label in (
        "Hur gammal är du?",
        "Kön",
        "Var får du stöd?",
        "Hur många år har du haft stöd eller ersättning?",
        "Vad lever du på just nu?",
        "Vem tipsade dig om stödet?",
        "Hur lång utbildning har du?",
        "Hur bra är din svenska?",
        "Jag är född i ett annat land än Sverige",
    ):
        expect(page.get_by_label(label, exact=True)).to_be_visible()

    # -- the person, by keyboard ------------------------------------------------------------------
    age = page.get_by_label("Hur gammal är du?")
    age.focus()
    page.keyboard.type("12")  # too young: the server's 422 shows next to the field
    page.get_by_label("Kön").select_option("woman")
    page.get_by_label("Var får du stöd?").select_option(REGION)
    page.get_by_label("Hur många år har du haft stöd eller ersättning?").fill("2,5")
    page.get_by_label("Vad lever du på just nu?").select_option("social_assistance")
    page.get_by_label("Vem tipsade dig om stödet?").select_option("municipality")
    page.get_by_label("Hur lång utbildning har du?").select_option("upper_secondary")
    page.get_by_label("Hur bra är din svenska?").select_option("basic")
    born_abroad = page.get_by_label("Jag är född i ett annat land än Sverige")
    born_abroad.focus()
    page.keyboard.press("Space")
    expect(born_abroad).to_be_checked()

    # -- one past intervention; its select offers only what the region offers ---------------------
    page.get_by_role("button", name="Lägg till en insats").focus()
    page.keyboard.press("Enter")
    row = page.locator("#history > li")
    expect(row).to_have_count(1)
    intervention = row.get_by_label("Vilken insats?")
    expect(intervention).to_be_focused()
    catalogue = json.loads(
        page.evaluate("fetch('/v1/catalogue', {credentials: 'same-origin'}).then(r => r.text())")
    )
    offers = next(r["offers"] for r in catalogue["regions"] if r["code"] == REGION)
    assert sorted(intervention.locator("option").evaluate_all("os => os.map(o => o.value)")) == (
        sorted(offers)
    )
    intervention.select_option(PAST)
    row.get_by_label("Första dagen").fill("0")
    row.get_by_label("Sista dagen").fill("120")
    row.get_by_label("Timmar totalt").fill("80")
    row.get_by_label("Var du stod innan").select_option("0")
    row.get_by_label("Var du stod efter").select_option("1")

    # -- a wrong field is named next to itself ---------------------------------------------------
    submit = page.get_by_role("button", name="Visa förslag")
    submit.focus()
    page.keyboard.press("Enter")
    expect(age).to_have_attribute("aria-invalid", "true")
    error = page.locator("#f-age-error")
    expect(error).to_have_text("Måste vara minst 16.")  # the server's message in plain Swedish
    assert "f-age-error" in age.get_attribute("aria-describedby").split()
    expect(page.locator("#form-error")).to_contain_text("Något behöver rättas")
    expect(age).to_be_focused()

    age.fill("34")
    submit.focus()
    page.keyboard.press("Enter")

    # -- options with reasons, the journey done -> planned ---------------------------------------
    results = page.locator("#results")
    expect(results).to_have_attribute("aria-live", "polite")
    options = results.locator("li.option")
    expect(options).to_have_count(3)
    expect(age).not_to_have_attribute("aria-invalid", "true")
    for i in range(3):
        card = options.nth(i)
        expect(card.locator("h4")).not_to_be_empty()
        expect(card.locator(".big")).to_contain_text("%")
        expect(card.locator(".interval")).to_contain_text("Troligen mellan")
        assert card.locator("ul.reasons > li").count() >= 1
    expect(page.locator("#results-heading")).to_be_focused()
    expect(results.locator("svg.timeline")).to_be_visible()
    expect(results.locator("svg.timeline circle.dot.done")).to_have_count(1)
    assert results.locator("svg.timeline circle.dot.planned").count() >= 1
    expect(results.locator("svg.timeline title")).to_have_text("Din väg som tidslinje")
    done = results.locator(".journey-item.done")
    expect(done).to_have_count(1)
    expect(done).to_contain_text("Case management (resursmodellen)")
    assert results.locator(".journey-item.planned").count() >= 1

    # -- accessibility: axe-core on the page with its results -----------------------------------
    _assert_accessible(page, "sv")

    # -- the screenshot (docs/ only when asked) ----------------------------------------------------
    shot = SCREENSHOT if os.environ.get(UPDATE_SCREENSHOT) == "1" else tmp_path / SCREENSHOT.name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # -- English: relabelled, and the API asked again in English -------------------------------
    page.get_by_role("button", name="English").focus()
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_label("How good is your Swedish?")).to_be_visible()
    expect(page.get_by_role("button", name="Svenska")).to_be_visible()
    expect(page.get_by_role("heading", name="Suggestions for you")).to_be_visible()
    expect(results.locator(".journey-item.done")).to_contain_text(
        "Case management (resource model)"
    )
    expect(options.first.locator(".interval")).to_contain_text("Probably between")
    english = [r for r in requests if r.url.endswith("/v1/recommend")][-1]
    assert json.loads(english.post_data)["lang"] == "en"
    _assert_accessible(page, "en")

    # -- the API key appears nowhere: page, its files, cookies, request headers ----------------
    assert API_KEY not in page.content()
    for path in ("/", "/static/app.js", "/static/style.css", "/static/index.html"):
        assert API_KEY not in _get(f"{demo_server}{path}")[1], path
    assert page.evaluate("document.cookie") == ""  # the demo cookie is HttpOnly
    assert all(API_KEY not in c["value"] for c in context.cookies())
    assert requests
    for request in requests:
        headers = request.all_headers()
        assert "x-api-key" not in headers, request.url
        assert API_KEY not in json.dumps(headers), request.url
        assert API_KEY not in (request.post_data or ""), request.url
    context.close()


DEMAND_SCREENSHOT = SCREENSHOT.with_name("demand-report.png")


def test_the_demand_report_in_the_browser(model_folder, served_data, browser, tmp_path):
    """`adapt demand`'s report.html: the heatmap and the region bars, offline, accessible."""
    from click.testing import CliRunner

    from adapt.catalogue import load_catalogue
    from adapt.cli import main

    data = tmp_path / "data"
    data.mkdir()
    for name in ("persons", "episodes"):
        served_data[name].to_parquet(data / f"{name}.parquet")
    out = tmp_path / "demand"
    result = CliRunner().invoke(
        main,
        ["demand", "--model", str(model_folder), "--data", str(data), "--months", "6"]
        + ["--k", "2", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    catalogue = load_catalogue()
    context = browser.new_context(viewport={"width": 1400, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.set_default_timeout(15_000)
    page.goto((out / "report.html").as_uri())
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Demand for interventions, the next 6 months"
    )
    heatmap = page.locator("#heatmap")
    expect(heatmap.locator("tbody tr")).to_have_count(len(catalogue.region_codes))
    marks = heatmap.locator("td[data-mark='need more'], td[data-mark='superfluous']")
    assert marks.count() > 0
    assert all(text.strip()[0] in "▲▼" for text in marks.all_inner_texts())

    # one region's bars at a time, switched by the labelled select
    figures = page.locator("figure.region")
    expect(figures.filter(has_not=page.locator("[hidden]"))).to_have_count(
        len(catalogue.region_codes)
    )
    visible = page.locator("figure.region:visible")
    expect(visible).to_have_count(1)
    last = catalogue.region_codes[-1]
    page.get_by_label("Region", exact=True).select_option(last)
    expect(visible).to_have_count(1)
    expect(visible).to_have_attribute("data-region", last)
    offered = len(catalogue.offered(last))
    expect(visible.locator("g.bar")).to_have_count(offered)

    _assert_accessible(page, "en")
    assert all(url.startswith("file://") for url in requests), requests  # no network
    shot = (
        DEMAND_SCREENSHOT
        if os.environ.get(UPDATE_SCREENSHOT) == "1"
        else tmp_path / DEMAND_SCREENSHOT.name
    )
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    context.close()

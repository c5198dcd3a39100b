"""adapt serve: the HTTP API gives recommend()'s answer, guards it with the key (or the demo
cookie), refuses what is too big or malformed with 4xx naming the field, and logs no data."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from adapt.service import API_KEY_ENV, create_app
from adapt.service._app import MAX_BODY_BYTES

KEY = "test-key-5f1c2a9e"
HEADERS = {"X-API-Key": KEY}
ADAPT = Path(sys.executable).with_name("adapt")


@pytest.fixture(scope="module")
def body(valid_request):
    return valid_request


@pytest.fixture(scope="module")
def client(recommender):
    with TestClient(create_app(recommender, KEY)) as client:
        yield client


@pytest.fixture(scope="module")
def static(tmp_path_factory):
    folder = tmp_path_factory.mktemp("static")
    (folder / "index.html").write_text("<!doctype html><title>Hitta rätt</title>", "utf-8")
    (folder / "app.js").write_text("console.log('hej');", "utf-8")
    return folder


def test_health_needs_no_key_and_names_the_model(client, recommender):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "model_version": recommender.version}
    uuid.UUID(response.headers["X-Request-ID"])


def test_catalogue_lists_regions_offers_and_names(client, recommender):
    response = client.get("/v1/catalogue", headers=HEADERS)
    assert response.status_code == 200
    out = response.json()
    catalogue = recommender.catalogue
    regions = {r["code"]: r for r in out["regions"]}
    assert list(regions) == list(catalogue.regions)
    for code, region in catalogue.regions.items():
        assert regions[code]["name"] == region.name
        assert regions[code]["offers"] == list(region.offers)
        assert regions[code]["served"] == (code in recommender.model.seen_regions_)
    assert out["interventions"] == [
        {"code": i.code, "sv": i.sv, "en": i.en, "family": i.family}
        for i in catalogue.interventions.values()
    ]
    assert [s["level"] for s in out["steps"]] == list(catalogue.steps)


def test_openapi_documents_the_request_the_answer_and_the_key(client):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/recommend"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/RecommendRequest")
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/Recommendation")
    assert {"401", "413", "422"} <= set(operation["responses"])
    assert operation["security"] == [{"APIKeyHeader": []}]
    scheme = schema["components"]["securitySchemes"]["APIKeyHeader"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert "/v1/catalogue" in schema["paths"] and "/health" in schema["paths"]
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_recommend_gives_the_library_answer(client, recommender, body, lang):
    sent = {**body, "lang": lang, "k": 2}
    response = client.post("/v1/recommend", json=sent, headers=HEADERS)
    assert response.status_code == 200, response.text
    expected = recommender.recommend(sent["person"], sent["history"], k=2, lang=lang)
    assert response.json() == expected.model_dump(mode="json")


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/recommend", {}),
        ("/v1/recommend", {"X-API-Key": "wrong"}),
        ("/v1/recommend", {"X-API-Key": KEY[:-1] + "x"}),
        ("/v1/catalogue", {}),
        ("/v1/catalogue", {"X-API-Key": KEY.upper()}),
    ],
)
def test_missing_or_wrong_key_is_401(client, body, path, headers):
    if path.endswith("recommend"):
        response = client.post(path, json=body, headers=headers)
    else:
        response = client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "missing or wrong X-API-Key"}
    assert "X-API-Key" in response.headers["WWW-Authenticate"]


def test_key_is_checked_before_the_body(client):
    response = client.post("/v1/recommend", content=b"{not json", headers={"X-API-Key": "no"})
    assert response.status_code == 401


def test_big_body_is_413_declared_or_streamed(client, body):
    big = {**body, "padding": "x" * MAX_BODY_BYTES}
    response = client.post("/v1/recommend", json=big, headers=HEADERS)
    assert response.status_code == 413
    assert "bytes" in response.json()["detail"]

    def chunks():  # no Content-Length: the limit holds on the streamed size too
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024

    response = client.post(
        "/v1/recommend",
        content=chunks(),
        headers={**HEADERS, "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def _locs(response):
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail and all(set(e) == {"loc", "msg"} for e in detail)
    return [e["loc"] for e in detail]


def test_422_names_the_field(client, body):
    def post(**changes):
        return client.post("/v1/recommend", json={**body, **changes}, headers=HEADERS)

    assert ["body", "k"] in _locs(post(k=9))
    assert ["body", "k"] in _locs(post(k=0))
    assert ["body", "history"] in _locs(post(history=[body["history"][0]] * 201))
    age = _locs(post(person={**body["person"], "age": "34"}))
    assert ["body", "person", "age"] in age
    region = post(person={**body["person"], "region": "atlantis"})
    assert ["body", "person", "region"] in _locs(region)
    assert "unknown region" in region.json()["detail"][0]["msg"]
    late = {**body["history"][0], "intervention": "teleportation"}
    assert ["body", "history", 0, "intervention"] in _locs(post(history=[late]))
    assert ["body", "lang"] in _locs(post(lang="de"))
    assert ["body", "person"] in _locs(post(person=None))


def test_malformed_json_is_422_naming_the_body(client):
    for raw in (b"{not json", b'{"person": ', b"\xff\xfe", b"[" * 50_000, b"1" * 5000):
        response = client.post(
            "/v1/recommend",
            content=raw,
            headers={**HEADERS, "Content-Type": "application/json"},
        )
        assert _locs(response)[0][0] == "body"


def test_422_never_echoes_the_values_sent(client, body):
    secret = "x" * 30 + "-sekret"
    person = {**body["person"], "age": secret, "gender": secret}
    response = client.post("/v1/recommend", json={**body, "person": person}, headers=HEADERS)
    assert response.status_code == 422
    assert secret not in response.text


def test_demo_cookie_stands_in_for_the_key_only_in_demo_mode(recommender, body, static):
    with TestClient(create_app(recommender, KEY, demo=True, static_dir=static)) as demo:
        assert demo.post("/v1/recommend", json=body).status_code == 401
        page = demo.get("/")
        assert page.status_code == 200
        assert "Hitta rätt" in page.text
        cookie = page.headers["set-cookie"]
        assert cookie.startswith("adapt_demo=")
        assert "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
        assert KEY not in page.text and KEY not in cookie
        assert demo.get("/static/app.js").status_code == 200
        assert demo.post("/v1/recommend", json=body).status_code == 200
        assert demo.get("/v1/catalogue").status_code == 200
        token = demo.cookies["adapt_demo"]
        demo.cookies.set("adapt_demo", token[:-1] + ("a" if token[-1] != "a" else "b"))
        assert demo.post("/v1/recommend", json=body).status_code == 401

    with TestClient(create_app(recommender, KEY, static_dir=static)) as plain:
        assert plain.get("/").status_code == 404
        assert plain.get("/static/app.js").status_code == 404
        plain.cookies.set("adapt_demo", token)
        assert plain.post("/v1/recommend", json=body).status_code == 401


def test_logs_hold_request_id_status_and_no_data(client, body, caplog):
    caplog.set_level("INFO", logger="adapt.service")
    ok = client.post("/v1/recommend", json=body, headers=HEADERS)
    person = {**body["person"], "age": 1234567}
    refused = client.post("/v1/recommend", json={**body, "person": person}, headers=HEADERS)
    client.get("/v1/catalogue?who=someone", headers={"X-API-Key": "wrong-key-value"})
    text = caplog.text
    assert f"request_id={ok.headers['X-Request-ID']}" in text
    assert f"request_id={refused.headers['X-Request-ID']}" in text
    assert "status=200" in text and "status=422" in text and "status=401" in text
    assert "latency_ms=" in text
    for private in (KEY, "wrong-key-value", "someone", "1234567", json.dumps(body)):
        assert private not in text
    for value in body["person"].values():
        if isinstance(value, str):
            assert value not in text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serving(model_folder, *options):
    """`adapt serve` on a free port with `options`, and its base URL."""
    port = _free_port()
    server = subprocess.Popen(
        [str(ADAPT), "serve", "--model", str(model_folder), "--port", str(port), *options],
        env={**os.environ, API_KEY_ENV: KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return server, f"http://127.0.0.1:{port}"


def _first_answer(server, url: str):
    """The first answer of `url` once the server listens (its response, read)."""
    for _ in range(600):
        assert server.poll() is None, server.stdout.read()
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.headers, json.load(response) if url.endswith("health") else None
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"adapt serve did not answer {url}")


def test_adapt_serve_runs_under_uvicorn(model_folder, body):
    server, base = _serving(model_folder, "--workers", "1")
    try:
        _, health = _first_answer(server, f"{base}/health")
        assert health["status"] == "ok"
        request = urllib.request.Request(
            f"{base}/v1/recommend",
            data=json.dumps(body).encode(),
            headers={**HEADERS, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.load(response)
            request_id = response.headers["X-Request-ID"]
        assert len(answer["options"]) == 3
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=60)
    assert f"request_id={request_id}" in output
    assert KEY not in output


def test_adapt_serve_refuses_to_start_without_a_key(model_folder):
    env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV}
    result = subprocess.run(
        [str(ADAPT), "serve", "--model", str(model_folder), "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and API_KEY_ENV in lines[0]


def test_a_burst_past_capacity_is_refused_at_once_with_retry_after(recommender, body):
    """Beyond `max_in_flight` recommendations a request gets 503 and Retry-After at once (here
    the limit is 0, so every recommendation is beyond it); other endpoints still answer."""
    busy = TestClient(create_app(recommender, KEY, max_in_flight=0))
    response = busy.post("/v1/recommend", json=body, headers=HEADERS)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "retry" in response.json()["detail"]
    assert busy.get("/health").status_code == 200
    assert busy.get("/v1/catalogue", headers=HEADERS).status_code == 200
    assert busy.post("/v1/recommend", json=body).status_code == 401  # the key comes first


def test_several_workers_each_load_the_model_and_share_the_demo_cookie(model_folder, body):
    server, base = _serving(model_folder, "--demo", "--workers", "2")
    try:
        headers, _ = _first_answer(server, f"{base}/")
        cookie = headers["Set-Cookie"].split(";")[0]
        statuses = []
        for _ in range(12):  # new connections: the workers take turns
            request = urllib.request.Request(
                f"{base}/v1/recommend",
                data=json.dumps(body).encode(),
                headers={"Cookie": cookie, "Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=120) as response:
                statuses.append(response.status)
        assert statuses == [200] * 12
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=60)
    assert output.count("Started server process") == 2
    assert KEY not in output

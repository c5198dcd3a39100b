"""The HTTP API around `Recommender.recommend()`: FastAPI app, key check, limits, logs.

Everything under ``/v1/`` needs the key (header ``X-API-Key``) or, in demo mode, the cookie
that serving the demo page sets. Requests are refused in this order: key (401), body size
(413), malformed JSON (422), schema and catalogue rules (422, naming each field). Logs hold
one line per request (request id, method, path, status, latency), never bodies nor the key.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import time
import uuid
from pathlib import Path

from fastapi import FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.requests import cookie_parser

from adapt.recommender import (
    MAX_HISTORY,
    MAX_K,
    InvalidRequest,
    Recommendation,
    Recommender,
    RecommendRequest,
)

logger = logging.getLogger("adapt.service")

API_KEY_HEADER = "X-API-Key"
DEMO_COOKIE = "adapt_demo"
REQUEST_ID_HEADER = "X-Request-ID"
MAX_BODY_BYTES = 256 * 1024
RECOMMEND_PATH = "/v1/recommend"
# Enough to keep both cores busy with a short queue: at ~50-100 ms a recommendation, a request
# waits at most about half a second before its turn.
MAX_IN_FLIGHT = 8
STATIC = Path(__file__).parent / "static"
_UNAUTHORISED = {"detail": f"missing or wrong {API_KEY_HEADER}"}

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="The key the server was started with (ADAPT_API_KEY).",
)


# -- response models of the small endpoints --------------------------------------------------------
class Health(BaseModel):
    status: str
    model_version: str


class CatalogueRegion(BaseModel):
    code: str
    name: str
    offers: list[str]
    served: bool


class CatalogueIntervention(BaseModel):
    code: str
    sv: str
    en: str
    family: str


class CatalogueStep(BaseModel):
    level: int
    sv: str
    en: str


class CatalogueOut(BaseModel):
    """Regions (what each offers, whether the model serves it), interventions and steps."""

    model_version: str
    regions: list[CatalogueRegion]
    interventions: list[CatalogueIntervention]
    steps: list[CatalogueStep]


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str


class ValidationErrors(BaseModel):
    detail: list[FieldError]


class Message(BaseModel):
    detail: str


# -- the app ---------------------------------------------------------------------------------------
def create_app(
    recommender: Recommender,
    api_key: str,
    demo: bool = False,
    *,
    static_dir: str | Path | None = None,
    max_in_flight: int = MAX_IN_FLIGHT,
    demo_token: str | None = None,
) -> FastAPI:
    """The FastAPI app serving `recommender`.

    Parameters
    ----------
    recommender : Recommender
    api_key : str
        The key clients send as ``X-API-Key``; must not be empty.
    demo : bool
        Serve the demo page at ``/`` (and its files at ``/static/``); serving it sets an
        HttpOnly cookie that authorises ``/v1/`` in place of the key.
    static_dir : folder, optional
        The demo page's folder (default: ``adapt/service/static``).
    max_in_flight : int
        Recommendations computed or waiting at once; beyond, 503 with ``Retry-After`` at once
        (a burst past capacity is refused quickly instead of timing out in a growing queue).
    demo_token : str, optional
        The demo cookie's value (default: a new random one); workers serving one port share it.
    """
    if not api_key:
        raise ValueError("the API key must not be empty")
    catalogue = _catalogue(recommender)
    app = FastAPI(
        title="adapt",
        summary="The next intervention on the way back to work, explained and planned.",
        version=recommender.version,
    )
    token = (demo_token or secrets.token_urlsafe(32)) if demo else None
    app.add_middleware(
        _Guard,
        api_key=api_key.encode(),
        demo_token=token.encode() if token else None,
        max_in_flight=max_in_flight,
    )
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(InvalidRequest, _invalid_request)
    refused = {
        401: {"model": Message, "description": f"Missing or wrong {API_KEY_HEADER}."},
        413: {"model": Message, "description": f"Body larger than {MAX_BODY_BYTES} bytes."},
        422: {"model": ValidationErrors, "description": "The fields that are wrong."},
        503: {"model": Message, "description": "Busy: too many recommendations in progress."},
    }

    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> Health:
        """The service is up; the model it serves."""
        return Health(status="ok", model_version=recommender.version)

    @app.get(
        "/v1/catalogue",
        response_model=CatalogueOut,
        dependencies=[Security(api_key_header)],
        responses={401: refused[401]},
        tags=["recommend"],
    )
    def get_catalogue() -> CatalogueOut:
        """Regions and what each offers, intervention and step names in Swedish and English."""
        return catalogue

    @app.post(
        RECOMMEND_PATH,
        response_model=Recommendation,
        dependencies=[Security(api_key_header)],
        responses=refused,
        tags=["recommend"],
        description="The top-`k` next interventions for one person, with reasons, a plan and "
        "the journey (the same answer as `adapt.recommender.recommend`). At most "
        f"{MAX_HISTORY} past episodes; `k` from 1 to {MAX_K}.",
    )
    def recommend(request: RecommendRequest) -> Recommendation:
        # A plain def: FastAPI runs the CPU-bound model in its thread pool.
        return recommender.recommend(
            request.person.model_dump(),
            [episode.model_dump() for episode in request.history],
            k=request.k,
            lang=request.lang,
            day=request.day,
            current_step=request.current_step,
        )

    if demo:
        folder = Path(static_dir) if static_dir is not None else STATIC

        @app.get("/", include_in_schema=False)
        def page():
            index = folder / "index.html"
            if not index.is_file():
                return JSONResponse({"detail": "Not Found"}, status_code=404)
            response = FileResponse(index, headers={"Cache-Control": "no-store"})
            response.set_cookie(DEMO_COOKIE, token, httponly=True, samesite="strict", path="/")
            return response

        if folder.is_dir():
            app.mount("/static", StaticFiles(directory=folder), name="static")

    return app


def _catalogue(recommender: Recommender) -> CatalogueOut:
    catalogue = recommender.catalogue
    seen = set(recommender.model.seen_regions_)
    return CatalogueOut(
        model_version=recommender.version,
        regions=[
            CatalogueRegion(code=r.code, name=r.name, offers=list(r.offers), served=r.code in seen)
            for r in catalogue.regions.values()
        ],
        interventions=[
            CatalogueIntervention(code=i.code, sv=i.sv, en=i.en, family=i.family)
            for i in catalogue.interventions.values()
        ],
        steps=[CatalogueStep(level=s.level, sv=s.sv, en=s.en) for s in catalogue.steps.values()],
    )


# -- errors ----------------------------------------------------------------------------------------
def _field_errors(errors, prefix=()) -> JSONResponse:
    """422 naming each field: only ``loc`` and ``msg``, never the values sent."""
    detail = [
        {
            "loc": [
                *prefix,
                *(p if isinstance(p, int) else str(p)[:100] for p in e.get("loc", ())),
            ],
            "msg": str(e.get("msg", "invalid")).removeprefix("Value error, "),
        }
        for e in errors
    ]
    return JSONResponse({"detail": detail or [{"loc": ["body"], "msg": "invalid"}]}, 422)


async def _validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    return _field_errors(error.errors())


async def _invalid_request(request: Request, error: InvalidRequest) -> JSONResponse:
    return _field_errors(error.errors, prefix=("body",))


# -- the guard: request id, log line, key, body limit, malformed JSON, catch-all ------------------
class _Guard:
    """Pure ASGI middleware around the app (no body is ever logged)."""

    def __init__(self, app, api_key: bytes, demo_token: bytes | None, max_in_flight: int):
        self.app, self.api_key, self.demo_token = app, api_key, demo_token
        self.max_in_flight, self.in_flight = max_in_flight, 0  # the event loop's own counter

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        status = 0
        header = (REQUEST_ID_HEADER.lower().encode(), request_id.encode())

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        heavy = scope.get("path") == RECOMMEND_PATH
        try:
            refusal, receive = await self._check(scope, receive)
            if refusal is None and heavy and self.in_flight >= self.max_in_flight:
                refusal = _busy()
            if refusal is not None:
                await refusal(scope, receive, send_with_id)
            elif heavy:
                self.in_flight += 1
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    self.in_flight -= 1
            else:
                await self.app(scope, receive, send_with_id)
        except Exception as error:  # the catch-all: no input gives a traceback to anyone
            logger.error("request_id=%s unhandled %s", request_id, type(error).__name__)
            if status == 0:
                await JSONResponse({"detail": "internal error", "request_id": request_id}, 500)(
                    scope, receive, send_with_id
                )
        finally:
            logger.info(
                "request_id=%s method=%s path=%s status=%s latency_ms=%.1f",
                request_id,
                scope.get("method", ""),
                scope.get("path", ""),
                status,
                (time.perf_counter() - started) * 1000,
            )

    async def _check(self, scope, receive):
        """A refusing response (or None) and the `receive` the app should read from."""
        headers = dict(scope.get("headers") or [])
        if scope.get("path", "").startswith("/v1/") and not self._authorised(headers):
            return JSONResponse(_UNAUTHORISED, 401, {"WWW-Authenticate": API_KEY_HEADER}), receive
        length = headers.get(b"content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > MAX_BODY_BYTES):
            return _too_large(), receive
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None, receive
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY_BYTES:
                return _too_large(), receive
        if body and _is_json(headers.get(b"content-type")):
            try:
                json.loads(body)
            except json.JSONDecodeError as error:
                return _malformed(f"malformed JSON: {error.msg} at position {error.pos}"), receive
            except (ValueError, RecursionError):
                return _malformed("malformed JSON: not UTF-8, too deep or a number too long"), (
                    receive
                )
        return None, _replay(body, receive)

    def _authorised(self, headers: dict) -> bool:
        key = headers.get(API_KEY_HEADER.lower().encode())
        if key is not None and hmac.compare_digest(key, self.api_key):
            return True
        if self.demo_token is None or b"cookie" not in headers:
            return False
        token = cookie_parser(headers[b"cookie"].decode("latin-1")).get(DEMO_COOKIE)
        return token is not None and hmac.compare_digest(
            token.encode("utf-8", "replace"), self.demo_token
        )


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return True
    kind = content_type.split(b";")[0].strip().lower()
    return kind == b"application/json" or kind.endswith(b"+json")


def _busy() -> JSONResponse:
    return JSONResponse(
        {"detail": "too many recommendations in progress; retry in a second"},
        503,
        {"Retry-After": "1"},
    )


def _too_large() -> JSONResponse:
    return JSONResponse({"detail": f"request body larger than {MAX_BODY_BYTES} bytes"}, 413)


def _malformed(msg: str) -> JSONResponse:
    return JSONResponse({"detail": [{"loc": ["body"], "msg": msg}]}, 422)

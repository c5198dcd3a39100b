"""Malformed requests are refused naming the field, in process and over HTTP, never with a 500.

A valid request is corrupted one field at a time (so the field to be named is known): wrong
types, missing and unknown fields, unknown codes, NaN and infinity, huge numbers, odd unicode,
huge histories; plus fully random JSON. Then schemathesis fuzzes the app against its own
OpenAPI schema.
"""

import json
import math

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from adapt.contract import LEVELS
from adapt.contract._schemas import AGE_RANGE, EXIT_REASONS, GENDERS
from adapt.recommender import InvalidRequest
from adapt.recommender._errors import _path
from adapt.recommender._schemas import MAX_DAY, MAX_HOURS, MAX_YEARS
from adapt.service import create_app

KEY = "fuzz-key-7d41"
HEADERS = {"X-API-Key": KEY, "Content-Type": "application/json"}
IN_PROCESS_INPUTS = 3_000
ENDPOINT_INPUTS = 2_000
BATCH = 5  # inputs per hypothesis example: less engine overhead per input


def batches(cases):
    return st.lists(cases, min_size=BATCH, max_size=BATCH)


def _settings(n):
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


# -- values ----------------------------------------------------------------------------------------
odd_text = st.text(st.characters(exclude_categories=()), max_size=6)  # surrogates, controls
long_text = st.text(max_size=4).map(lambda s: s + "å" * 110)  # longer than any code
text = st.text(max_size=8) | odd_text | long_text
huge = st.integers(min_value=10**15, max_value=10**60) | st.integers(-(10**60), -(10**15))
floats = st.floats() | st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -0.0])
scalars = st.none() | st.booleans() | st.integers() | huge | floats | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=5,
)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def bad_int(lo, hi, none_ok=False):
    """Not a strict int in [lo, hi] (None too unless it is allowed)."""
    outside = st.integers().filter(lambda v: not lo <= v <= hi) | huge
    wrong = json_values.filter(lambda v: not _is_int(v) and not (none_ok and v is None))
    return outside | wrong


def bad_float(lo, hi, none_ok=False):
    outside = (floats | st.integers() | huge).filter(lambda v: not (lo <= v <= hi))
    wrong = json_values.filter(lambda v: not _is_number(v) and not (none_ok and v is None))
    return outside | wrong


def bad_choice(choices, none_ok=False):
    choices = tuple(choices)  # `in` by equality: values may be unhashable
    return json_values.filter(lambda v: v not in choices and not (none_ok and v is None))


def bad_bool():
    return json_values.filter(lambda v: not isinstance(v, bool))


def bad_code(valid, none_ok=False):
    valid = tuple(valid)
    return (text | st.just("") | json_values).filter(
        lambda v: v not in valid and not (none_ok and v is None)
    )


# -- corrupting one field of a valid request -------------------------------------------------------


def malformed(base, recommender):
    """(request, the field's loc) pairs: `base` with one field made wrong."""
    catalogue = recommender.catalogue
    region = base["person"]["region"]
    served = set(recommender.model.seen_regions_)
    offered = set(catalogue.regions[region].offers)
    top = catalogue.max_step
    last_end = base["history"][-1]["end_day"]
    person_fields = {
        "gender": bad_choice(GENDERS),
        "age": bad_int(*AGE_RANGE),
        "region": bad_code(served),
        "years_on_support": bad_float(0, MAX_YEARS),
        "born_abroad": bad_bool(),
        "mental_ill_health": bad_bool(),
        "violence_exposure": bad_bool(),
        "person_id": (json_values | st.just("") | long_text).filter(
            lambda v: v is not None and not (isinstance(v, str) and 1 <= len(v) <= 100)
        ),
        "exit_day": bad_float(0, MAX_DAY, none_ok=True),
        "exit_reason": bad_choice(EXIT_REASONS, none_ok=True),
        **{name: bad_choice(LEVELS[name]) for name in ("income_source", "referral_source")},
        **{name: bad_choice(LEVELS[name]) for name in ("education", "swedish_level")},
    }
    required = [f for f in person_fields if f not in ("person_id", "exit_day", "exit_reason")]
    episode_fields = {
        "intervention": bad_code(offered),
        "start_day": bad_int(0, MAX_DAY),
        "end_day": bad_int(0, MAX_DAY),
        "hours": bad_float(0, MAX_HOURS),
        "step_before": bad_int(0, top),
        "step_after": bad_int(0, top),
    }
    request_fields = {
        "k": bad_int(1, 5),
        "lang": bad_choice(("sv", "en")),
        "day": bad_int(0, MAX_DAY, none_ok=True) | st.integers(0, last_end - 1),
        "current_step": bad_int(0, top, none_ok=True),
        "person": json_values.filter(lambda v: not isinstance(v, dict)),
        "history": json_values.filter(lambda v: not isinstance(v, list)),
    }

    def with_person(**changes):
        return {**base, "person": {**base["person"], **changes}}

    def with_episode(i, episode):
        history = list(base["history"])
        history[i] = episode
        return {**base, "history": history}

    person_value = st.sampled_from(sorted(person_fields)).flatmap(
        lambda f: person_fields[f].map(lambda v: (with_person(**{f: v}), ("person", f)))
    )
    person_missing = st.sampled_from(required).map(
        lambda f: (
            {**base, "person": {k: v for k, v in base["person"].items() if k != f}},
            ("person", f),
        )
    )
    unknown = st.text(min_size=1, max_size=20).filter(
        lambda n: not n.startswith("x_") and n not in person_fields
    )
    person_unknown = st.tuples(unknown, json_values).map(
        lambda nv: (with_person(**{nv[0]: nv[1]}), ("person",))
    )
    covariate = st.tuples(
        st.text(min_size=1, max_size=10).map(lambda s: "x_" + s),
        st.sampled_from([math.nan, math.inf, -math.inf])
        | st.lists(scalars, max_size=3)
        | st.dictionaries(text, scalars, max_size=2)
        | long_text,
    ).map(lambda nv: (with_person(**{nv[0]: nv[1]}), ("person",)))
    indices = st.integers(0, len(base["history"]) - 1)
    episode_value = st.tuples(indices, st.sampled_from(sorted(episode_fields))).flatmap(
        lambda i_f: episode_fields[i_f[1]].map(
            lambda v: (
                with_episode(i_f[0], {**base["history"][i_f[0]], i_f[1]: v}),
                ("history", i_f[0], i_f[1]),
            )
        )
    )
    episode_missing = st.tuples(indices, st.sampled_from(sorted(episode_fields))).map(
        lambda i_f: (
            with_episode(i_f[0], {k: v for k, v in base["history"][i_f[0]].items() if k != i_f[1]}),
            ("history", i_f[0], i_f[1]),
        )
    )
    episode_extra = st.tuples(
        indices, st.text(min_size=1, max_size=20).filter(lambda n: n not in episode_fields)
    ).map(
        lambda i_n: (
            with_episode(i_n[0], {**base["history"][i_n[0]], i_n[1]: 1}),
            ("history", i_n[0], i_n[1]),
        )
    )
    episode_not_object = st.tuples(
        indices, json_values.filter(lambda v: not isinstance(v, dict))
    ).map(lambda i_v: (with_episode(i_v[0], i_v[1]), ("history", i_v[0])))
    huge_history = st.integers(201, 1_200).map(
        lambda n: ({**base, "history": base["history"][:1] * n}, ("history",))
    )
    request_value = st.sampled_from(sorted(request_fields)).flatmap(
        lambda f: request_fields[f].map(lambda v: ({**base, f: v}, (f,)))
    )
    return st.one_of(
        person_value,
        person_missing,
        person_unknown,
        covariate,
        episode_value,
        episode_missing,
        episode_extra,
        episode_not_object,
        huge_history,
        request_value,
    )


def _names(errors, loc) -> bool:
    """Some error's loc starts with `loc`."""
    return any(tuple(e["loc"][: len(loc)]) == tuple(loc) for e in errors)


@pytest.fixture(scope="module")
def base(valid_request):
    return valid_request


@pytest.fixture(scope="module")
def client(recommender):
    with TestClient(create_app(recommender, KEY)) as client:
        yield client


def test_recommend_refuses_malformed_input_naming_the_field(recommender, base):
    sent = []

    @_settings(IN_PROCESS_INPUTS // BATCH)
    @given(batches(st.one_of(malformed(base, recommender), random_request())))
    def check(cases):
        for request, loc in cases:
            sent.append(1)
            with pytest.raises(InvalidRequest) as caught:
                recommender.recommend(
                    request.get("person"),
                    request.get("history", ()),
                    **{k: request[k] for k in ("k", "lang", "day", "current_step") if k in request},
                )
            errors = caught.value.errors
            assert errors and all(e["loc"] for e in errors)
            if loc is not None:
                assert _names(errors, loc), (loc, errors)
                assert _path(loc) in str(caught.value)

    check()
    assert len(sent) >= IN_PROCESS_INPUTS


def random_request():
    """Fully random JSON in the request's places; no particular field to name."""
    return st.fixed_dictionaries(
        {"person": json_values, "history": st.lists(json_values, max_size=5)},
        optional={"k": json_values, "lang": json_values},
    ).map(lambda r: (r, None))


def _send(client, body):
    raw = json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass")
    return client.post("/v1/recommend", content=raw, headers=HEADERS)


def test_endpoint_refuses_malformed_input_naming_the_field(client, recommender, base):
    sent = []
    anything = json_values.map(lambda v: (v, ("body",)))

    @_settings(ENDPOINT_INPUTS // BATCH)
    @given(batches(st.one_of(malformed(base, recommender), random_request(), anything)))
    def check(cases):
        for body, loc in cases:
            sent.append(1)
            response = _send(client, body)
            assert 400 <= response.status_code < 500, (response.status_code, response.text)
            assert response.status_code == 422, response.text
            errors = response.json()["detail"]
            assert errors and all(e["loc"] and e["loc"][0] == "body" for e in errors)
            if loc is not None:
                assert _names(errors, loc if loc == ("body",) else ("body", *loc)), (loc, errors)

    check()
    assert len(sent) >= ENDPOINT_INPUTS


# -- schemathesis: the app against its own OpenAPI schema ---------------------------------------
# Strategies per operation and generation mode, driven by plain hypothesis:
# `schemathesis.pytest.from_fixture` fails under pytest 9 (it reads `Function._nodeid`).
SCHEMA_EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    negative_data_rejection,
    ignored_auth,
]


def test_api_conforms_to_its_openapi_schema(recommender):
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(recommender, KEY))
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {operation.label for operation in operations}
    assert {"GET /health", "GET /v1/catalogue", "POST /v1/recommend"} <= labels
    statuses = []
    for operation in operations:
        modes = [GenerationMode.POSITIVE]
        if operation.label == "POST /v1/recommend":  # the only one with an input to break
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:

            @_settings(SCHEMA_EXAMPLES)
            @given(operation.as_strategy(generation_mode=mode))
            def check(case):
                response = case.call_and_validate(headers={"X-API-Key": KEY}, checks=CHECKS)
                statuses.append(response.status_code)

            check()
    assert statuses and max(statuses) < 500

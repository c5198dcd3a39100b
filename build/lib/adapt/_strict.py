"""Strict validation of the YAML files adapt reads (catalogue, audit thresholds) with pydantic.

A typo in such a file must not be silently ignored or coerced: the models use `STRICT`, and a
failed validation is told as one ``path: problem`` per error, the path written as in the YAML
(``regions.hbs.offers[2]``), so that every problem of a file can be reported in one line.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Hashable

from pydantic import BaseModel, ConfigDict, ValidationError

# No coercion ("false" is not a bool, 2.5 not an int), no unknown key, no mutation after reading.
STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)

_EXPECTED = {
    "bool_type": "a boolean",
    "int_type": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "list_type": "a list",
    "sequence_str": "a list",
}
_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def problems(error: ValidationError, model: type[BaseModel], data) -> list[str]:
    """Each error of `error` (raised validating `data` as `model`) as ``path: problem``."""
    return [_problem(detail, model, data) for detail in error.errors(include_url=False)]


def yaml_path(loc, data) -> str:
    """`loc` written as in the YAML: ``a.b[2].c``; list indices are told apart by walking `data`."""
    text, node = "", data
    for key in loc:
        if isinstance(node, list | tuple):
            text += f"[{key}]"
        else:
            if isinstance(node, dict) and isinstance(key, Hashable):
                key = {k: k for k in node}.get(key, key)  # as written: pydantic tells `no:` as 0
            text += f".{_key(key)}" if text else _key(key)
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            node = None
    return text


def _key(key) -> str:
    # a key that would blur the path (a dot, a space, a newline) is quoted
    plain = not isinstance(key, str) or re.fullmatch(r"[\w-]+", key)
    return str(key) if plain else repr(key)


def shown(value) -> str:
    """`value` as an error message shows it: as written when short, else cut or by kind."""
    text = repr(value)
    if len(text) <= 40:
        return text
    if isinstance(value, dict):
        return "a mapping"
    return "a list" if isinstance(value, list | tuple) else text[:37] + "..."


def did_you_mean(word, options) -> str:
    """`` (did you mean 'x'?)`` for the option closest to `word`, or nothing."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _problem(detail, model, data) -> str:
    loc, kind, value = list(detail["loc"]), detail["type"], detail["input"]
    # a mapping's key of the wrong type (pydantic's loc ends in the key, then "[key]")
    key_error = len(loc) >= 2 and loc[-1] == "[key]" and loc[-2] == value
    if key_error:  # name the key as written
        loc = [*loc[:-2], value]
    path = yaml_path(loc, data)
    if kind == "extra_forbidden":
        return f"{path}: unknown key{did_you_mean(loc[-1], _keys_at(model, loc[:-1]))}"
    if kind == "missing":
        return f"{path}: missing"
    if kind in ("value_error", "assertion_error"):
        return f"{path}: {detail['ctx']['error']}"
    described = getattr(_walk(model, loc)[1], "description", None)
    if key_error:
        expected = f"{_EXPECTED.get(kind, 'a valid')} key"
    elif described:  # the field says what it accepts, bounds included
        expected = described
    elif kind in _EXPECTED:
        expected = _EXPECTED[kind]
    elif kind == "too_short":
        expected = f"at least {detail['ctx']['min_length']} item(s)"
        value = detail["ctx"]["actual_length"]
    elif set(detail.get("ctx", {})) & set(_BOUNDS):
        bound = next(b for b in _BOUNDS if b in detail["ctx"])
        expected = f"a value {_BOUNDS[bound]} {detail['ctx'][bound]}"
    else:
        return f"{path}: {detail['msg'][0].lower()}{detail['msg'][1:]}, got {shown(value)}"
    return f"{path}: expected {expected}, got {shown(value)}"


def _walk(model, loc):
    """The type `loc` leads to in `model` and, when its last step is a model's field, that field."""
    kind, field = model, None
    for key in loc:
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(key)
            kind = field.annotation if field is not None else None
        else:  # dict[K, V] or Sequence[V]: on to V
            args = typing.get_args(kind)
            kind, field = (args[-1] if args else None), None
    return kind, field


def _keys_at(model, loc) -> list[str]:
    """The keys the mapping at `loc` accepts, when a model describes it."""
    kind, _ = _walk(model, loc)
    return list(kind.model_fields) if isinstance(kind, type) and issubclass(kind, BaseModel) else []

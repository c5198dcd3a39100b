"""One error type for everything wrong with a request, naming each field."""

from __future__ import annotations

from pydantic import ValidationError


class InvalidRequest(ValueError):
    """A request `recommend()` cannot answer. `errors` lists ``{"loc": [...], "msg": ...}`` (the
    field's path, as in pydantic and FastAPI) and the message names every field."""

    def __init__(self, errors: list[dict]):
        self.errors = errors
        super().__init__("; ".join(f"{_path(e['loc'])}: {e['msg']}" for e in errors))

    @classmethod
    def at(cls, loc, msg: str) -> InvalidRequest:
        return cls([{"loc": list(loc), "msg": msg}])

    @classmethod
    def from_validation(cls, error: ValidationError) -> InvalidRequest:
        return cls(
            [
                {"loc": list(e["loc"]), "msg": e["msg"].removeprefix("Value error, ")}
                for e in error.errors(include_url=False, include_input=False)
            ]
        )


def _path(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "request"

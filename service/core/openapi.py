"""Error answers documented in the OpenAPI schema, so clients (and our schema tests) know them."""

from __future__ import annotations

from typing import Any

# The type FastAPI's `responses=` takes.
Responses = dict[int | str, dict[str, Any]]

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["detail", "code"],
}


def error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ERROR_SCHEMA}}}


# Every route behind a bearer token can answer these.
AUTHENTICATED: Responses = {
    401: error("missing, invalid or expired access token, or a login that has ended"),
    403: error("the route needs a superuser"),
}

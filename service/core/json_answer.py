"""An answer serialised once: rows already shaped like a response schema, straight to JSON.

FastAPI validates a returned model against the route's response model and then serialises it;
for rows read by the route itself, in the schema's own columns (the hot reads, issue 25), the
validation only repeats what the database's column types already guarantee. `json_answer`
serialises with pydantic-core's encoder, the one FastAPI's path ends in, so the bytes are the
same (tests/service/test_hot_reads.py compares them with the schema's own output).
"""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json
from starlette.responses import Response


def json_answer(content: Any, status_code: int = 200) -> Response:
    return Response(to_json(content), status_code=status_code, media_type="application/json")

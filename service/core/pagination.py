from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

MAX_PAGE_SIZE = 100

# The type FastAPI's `responses=` takes, for the error answers a route documents.
Responses = dict[int | str, dict[str, Any]]


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


def page_params(
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"rows to return, at most {MAX_PAGE_SIZE}")
    ] = 20,
) -> Page:
    return Page(offset=offset, limit=limit)


PageDep = Annotated[Page, Depends(page_params)]

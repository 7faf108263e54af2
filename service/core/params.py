"""Query and path parameters shared by the routers: pagination and resource ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query

MAX_PAGE_SIZE = 100
# Ids are 32-bit INTEGER columns: a larger number cannot name a row (and would overflow a query).
MAX_ID = 2_147_483_647

ResourceId = Annotated[int, Path(ge=1, le=MAX_ID)]


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


async def page_params(
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip")] = 0,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"rows to return, at most {MAX_PAGE_SIZE}")
    ] = 20,
) -> Page:
    return Page(offset=offset, limit=limit)


PageDep = Annotated[Page, Depends(page_params)]

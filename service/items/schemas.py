from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from service.core.text import NO_NUL

Title = Annotated[str, Field(min_length=1, max_length=255, pattern=NO_NUL)]
Description = Annotated[str, Field(max_length=10_000, pattern=NO_NUL)]
CENT = Decimal("0.01")


def _to_cents(value: Decimal) -> Decimal:
    return value.quantize(CENT)  # "3" and "3.0" are both stored and answered as "3.00"


Price = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("9999999999.99"), max_digits=12, decimal_places=2),
    AfterValidator(_to_cents),
]


class ItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description | None = None
    price: Price


class ItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None  # null clears it
    price: Price | None = None

    @field_validator("title", "price", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Leaving a field out keeps it; only the description may be cleared with null.
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class ItemPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_id: int
    title: str
    description: str | None
    price: Decimal
    created_at: datetime
    updated_at: datetime


class ItemsPublic(BaseModel):
    data: list[ItemPublic]
    count: int

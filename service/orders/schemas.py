from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from service.core.params import MAX_ID
from service.orders.models import OrderStatus

MAX_LINES = 50


class OrderLineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: Annotated[int, Field(ge=1, le=MAX_ID)]
    quantity: Annotated[int, Field(ge=1, le=10_000, description="a positive whole number")]


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: Annotated[list[OrderLineCreate], Field(min_length=1, max_length=MAX_LINES)]


class OrderLinePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    item_id: int | None
    title: str
    unit_price: Decimal
    quantity: int
    line_total: Decimal


class StatusChangePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: OrderStatus
    at: datetime
    reason: str | None


class OrderPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: OrderStatus
    lines: list[OrderLinePublic]
    total: Decimal
    failure_reason: str | None
    status_history: list[StatusChangePublic] = Field(validation_alias="history")
    created_at: datetime
    updated_at: datetime


class OrdersPublic(BaseModel):
    data: list[OrderPublic]
    count: int

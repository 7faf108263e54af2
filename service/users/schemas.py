from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from service.core.text import NO_NUL

# NIST SP 800-63B: length is what matters; no composition rules. 128 caps Argon2 input cost.
Password = Annotated[
    str, Field(min_length=12, max_length=128, pattern=NO_NUL, examples=["correct horse battery"])
]


def _lower(value: str) -> str:
    return value.lower()


Email = Annotated[EmailStr, AfterValidator(_lower), Field(max_length=320)]
FullName = Annotated[str, Field(min_length=1, max_length=255, pattern=NO_NUL)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: Password
    full_name: FullName | None = None


class UserUpdateMe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email | None = None
    password: Password | None = None
    full_name: FullName | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    created_at: datetime


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from service.auth.passwords import MAX_PASSWORD_LENGTH
from service.core.text import NO_NUL
from service.users.lookalike import mixed_script_problem

# NIST SP 800-63B: length is what matters; no composition rules. The cap bounds hashing input.
Password = Annotated[
    str,
    Field(
        min_length=12,
        max_length=MAX_PASSWORD_LENGTH,
        pattern=NO_NUL,
        examples=["correct horse battery"],
    ),
]
# What a caller types to prove it is the owner: any stored password, so no minimum here.
CurrentPassword = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]


def _lower(value: str) -> str:
    return value.lower()


def _one_script(value: str) -> str:
    problem = mixed_script_problem(value)
    if problem is not None:
        raise ValueError(f"this address {problem}")
    return value


Email = Annotated[
    EmailStr, AfterValidator(_lower), AfterValidator(_one_script), Field(max_length=320)
]
FullName = Annotated[str, Field(min_length=1, max_length=255, pattern=NO_NUL)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: Password
    full_name: FullName | None = None


class UserUpdateMe(BaseModel):
    """A new e-mail or password needs the current password: a stolen access token alone must not
    be enough to take the account over."""

    model_config = ConfigDict(extra="forbid")

    email: Email | None = None
    password: Password | None = None
    full_name: FullName | None = None
    current_password: CurrentPassword | None = None

    @property
    def is_sensitive(self) -> bool:
        return self.email is not None or self.password is not None


class EmailConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=4096)


class SignUpAccepted(BaseModel):
    """The one answer to a sign-up, whether or not the address was free (it tells nothing)."""

    detail: str = Field(examples=["check your e-mail: open the link we sent to confirm it"])


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str | None
    is_active: bool
    is_superuser: bool
    created_at: datetime
    pending_email: str | None = Field(
        default=None, description="a new address waiting for its confirmation token"
    )


class UsersPublic(BaseModel):
    data: list[UserPublic]
    count: int

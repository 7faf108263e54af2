"""`ReadAccessDep`: the one dependency of the hot reads (issue 25), and their user check.

`CurrentUser` is a chain (settings, a yield-dependency session, the bearer token, then the
user loaded as an ORM object); FastAPI solves each link on every request and closes the
session after the answer is sent. A hot read instead depends on this one function: the access
token decoded (401 before any database work) and the database handed over. The route then runs
its own Core statement through `service.core.db_reads.read_rows`, with the token's check
joined in or run as one statement built once (`USER_BY_OPEN_LOGIN`), so the check still
happens on every request, against the database as it is now: a logout, logout-all, password
change or deactivation takes effect at once, exactly as with `CurrentUser`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from sqlalchemy import Exists, Integer, Row, bindparam, exists, select

from service.auth.dependencies import BearerToken, _open_login, access_claims
from service.auth.models import RefreshFamily
from service.auth.service import deactivated_refusal, login_ended
from service.auth.tokens import TokenClaims
from service.core.db import Database, utcnow
from service.users.models import User
from service.users.schemas import UserPublic


@dataclass(frozen=True, slots=True)
class ReadAccess:
    """A valid access token's claims (not yet checked against the database) and the database."""

    claims: TokenClaims
    database: Database

    def login_parameters(self) -> dict[str, Any]:
        """The bind parameters of `USER_BY_OPEN_LOGIN` and `LIVE_USER`."""
        claims = self.claims
        return {
            "user_id": claims.user_id,
            "family_id": claims.family_id,
            "now": utcnow(),
            "version": claims.version,
        }


async def read_access(request: Request, token: BearerToken) -> ReadAccess:
    # `token` through OAuth2PasswordBearer, as for CurrentUser: the OpenAPI description keeps
    # the route's security requirement. Both are plain async functions (no thread, no yield).
    state = request.app.state
    return ReadAccess(access_claims(state.settings, token), state.db)


ReadAccessDep = Annotated[ReadAccess, Depends(read_access)]

# Built once, with bind parameters (building a statement costs more than running it here).
_OPEN_LOGIN = _open_login(bindparam("user_id"), bindparam("family_id"), bindparam("now"))

# `UserPublic`'s columns, the token version for the check, the user joined to the token's login.
USER_PUBLIC_FIELDS = tuple(UserPublic.model_fields)
USER_BY_OPEN_LOGIN = (
    select(*(User.__table__.c[name] for name in USER_PUBLIC_FIELDS), User.token_version)
    .join(RefreshFamily, RefreshFamily.user_id == User.id)
    .where(_OPEN_LOGIN)
)

# The whole access-token rule as one condition a route joins into its own statement (as
# `live_user` does, with bind parameters): login open, account active, version current, and
# not a superuser (a superuser's reads differ; they take the long way).
LIVE_NORMAL_USER: Exists = exists(
    select(User.id)
    .join(RefreshFamily, RefreshFamily.user_id == User.id)
    .where(
        _OPEN_LOGIN,
        User.is_active.is_(True),
        User.token_version == bindparam("version", type_=Integer),
        User.is_superuser.is_(False),
    )
)


def checked_user(rows: Sequence[Row[Any]], claims: TokenClaims) -> Row[Any]:
    """The row of `USER_BY_OPEN_LOGIN` if the token may be used; else the 401 `authenticate`
    (service/auth/dependencies.py) answers, for the same reasons, in the same order."""
    found = rows[0] if rows else None
    # deactivated_refusal reads `is_active` and `id`, which the row has like a User.
    refusal = deactivated_refusal(cast(User | None, found))
    if refusal is not None:
        raise refusal
    if found is None or found.token_version != claims.version:
        raise login_ended()
    return found

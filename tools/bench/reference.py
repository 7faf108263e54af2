"""`python -m tools.bench.reference`: the limit reference, the service's work by hand on asyncpg.

Each route does what the service's route of the same path does, and no less: the bearer token
decoded by the service's own `tokens.decode` (its secret, issuer, audience, leeway), the user
checks the service makes for an access token, the same SQL result, the service's pydantic
schemas for the body and the answer, and the service's error shape. What it leaves out is
only *how*: no ORM, no thread pool, no pre-ping, no explicit transaction for reads, every
statement prepared once per connection (asyncpg's cache). It runs with the service's settings
(same DATABASE_URL, same JWT settings) and the same `service.server.serve` (uvicorn settings),
so `make bench` measures the two side by side and the gap is what the service's way costs.

The access-token check lives in one place, `authenticate`, and is the service's (issue 13,
`service/auth/dependencies.py`): the user joined to the token's login (refresh family, not
logged out, not past its end), active, and at the token's version; every refusal is 401. The
items list joins the same check into its page query first, as the service does (one round trip).
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Annotated, Any

import asyncpg
from fastapi import FastAPI, Header, Request, Response, status
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.engine import make_url

from service.auth import tokens
from service.core.config import Settings, get_settings
from service.core.db import utcnow
from service.core.errors import ApiError, install_error_handlers
from service.core.lifecycle import Lifecycle
from service.core.logs import configure_logging
from service.core.params import PageDep
from service.items.schemas import ItemCreate, ItemPublic, ItemsPublic
from service.messaging.topology import ORDER_PLACED, ORDERS_TOPIC
from service.orders.models import OrderStatus
from service.orders.schemas import OrderCreate, OrderPublic
from service.orders.service import MAX_ORDER_TOTAL, _request_hash, customer_ordering_key
from service.server import serve
from service.users.schemas import UserPublic
from tools.bench.server import BARE_PATH

# Plain SQL constants (asyncpg prepares each once per connection and reuses it).
USER_BY_ID = (
    "SELECT u.id, u.email, u.full_name, u.is_active, u.is_superuser, u.created_at, "
    "u.token_version FROM users u JOIN refresh_families f ON f.user_id = u.id "
    "WHERE u.id = $1 AND f.id = $2 AND f.revoked_at IS NULL AND f.expires_at > $3"
)
# The service's `list_visible`: the page and, on every row, the total (one round trip); two
# statements rather than `$2 OR owner_id = $1`, which would keep the planner off the index.
OWN_ITEMS = (
    "SELECT id, owner_id, title, description, price, created_at, updated_at, "
    "count(*) OVER () AS total FROM items WHERE owner_id = $1 ORDER BY id OFFSET $2 LIMIT $3"
)
ALL_ITEMS = (
    "SELECT id, owner_id, title, description, price, created_at, updated_at, "
    "count(*) OVER () AS total FROM items ORDER BY id OFFSET $1 LIMIT $2"
)
# The service's shortcut for a normal user's page (service/items/router.py): the access-token
# check (login open, active, current version, not a superuser) joined into the page, one round
# trip; no rows means "take the long way" (authenticate, then the statements above).
OWN_ITEMS_IF_LIVE = (
    "SELECT id, owner_id, title, description, price, created_at, updated_at, "
    "count(*) OVER () AS total FROM items WHERE owner_id = $1 AND EXISTS ("
    "SELECT 1 FROM users u JOIN refresh_families f ON f.user_id = u.id "
    "WHERE u.id = $1 AND f.id = $2 AND f.revoked_at IS NULL AND f.expires_at > $3 "
    "AND u.is_active AND u.token_version = $4 AND NOT u.is_superuser"
    ") ORDER BY id OFFSET $5 LIMIT $6"
)
COUNT_OWN_ITEMS = "SELECT count(*) FROM items WHERE owner_id = $1"
COUNT_ALL_ITEMS = "SELECT count(*) FROM items"


def asyncpg_dsn(database_url: str) -> str:
    """The service's SQLAlchemy URL (`postgresql+psycopg://…`) as a plain libpq DSN."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise SystemExit(f"error: the reference needs PostgreSQL, DATABASE_URL is {url!r}")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def create_reference_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # As many connections as the service's pool may open (pool_size 10 + max_overflow 10).
        app.state.pool = await asyncpg.create_pool(
            asyncpg_dsn(settings.database_url), min_size=2, max_size=20
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.state.lifecycle = Lifecycle()  # what `serve` drains on SIGTERM
    install_error_handlers(app)  # the service's error shape for 401/403/404/409/422

    def access_claims(request: Request) -> tokens.TokenClaims:
        scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "not_authenticated", "missing bearer token")
        try:
            return tokens.decode(settings, token, expected="access")
        except tokens.InvalidTokenError as exc:
            raise ApiError(401, "invalid_token", f"invalid access token: {exc}") from exc

    async def authenticate(
        connection: asyncpg.Connection, request: Request, claims: tokens.TokenClaims | None = None
    ) -> asyncpg.Record:
        """What `service.auth.dependencies.get_current_user` checks, in one query."""
        claims = claims or access_claims(request)
        user = await connection.fetchrow(USER_BY_ID, claims.user_id, claims.family_id, utcnow())
        if user is None or not user["is_active"] or user["token_version"] != claims.version:
            raise ApiError(401, "invalid_token", "this login has ended; log in again")
        return user

    @app.get(BARE_PATH)
    async def bare() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readiness(request: Request) -> dict[str, str]:
        await request.app.state.pool.fetchval("SELECT 1")
        return {"status": "ready"}

    @app.get("/api/v1/users/me")
    async def read_me(request: Request) -> UserPublic:
        async with request.app.state.pool.acquire() as connection:
            user = await authenticate(connection, request)
        return UserPublic.model_validate(dict(user))

    @app.get("/api/v1/items")
    async def read_items(request: Request, page: PageDep) -> ItemsPublic:
        claims = access_claims(request)
        async with request.app.state.pool.acquire() as connection:
            rows = await connection.fetch(
                OWN_ITEMS_IF_LIVE,
                claims.user_id,
                claims.family_id,
                utcnow(),
                claims.version,
                page.offset,
                page.limit,
            )
            if rows:
                return ItemsPublic(
                    data=[ItemPublic.model_validate(dict(r)) for r in rows], count=rows[0]["total"]
                )
            user = await authenticate(connection, request, claims)
            if user["is_superuser"]:
                rows = await connection.fetch(ALL_ITEMS, page.offset, page.limit)
            else:
                rows = await connection.fetch(OWN_ITEMS, user["id"], page.offset, page.limit)
            if rows:
                total = rows[0]["total"]
            elif user["is_superuser"]:  # an empty page says nothing of the total, as in the service
                total = await connection.fetchval(COUNT_ALL_ITEMS)
            else:
                total = await connection.fetchval(COUNT_OWN_ITEMS, user["id"])
        return ItemsPublic(data=[ItemPublic.model_validate(dict(r)) for r in rows], count=total)

    @app.post("/api/v1/items", status_code=status.HTTP_201_CREATED)
    async def create_item(request: Request, body: ItemCreate) -> ItemPublic:
        now = utcnow()
        async with request.app.state.pool.acquire() as connection:
            user = await authenticate(connection, request)
            item_id = await connection.fetchval(
                "INSERT INTO items (owner_id, title, description, price, created_at, updated_at) "
                "VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                user["id"],
                body.title,
                body.description,
                body.price,
                now,
            )
        return ItemPublic(
            id=item_id, owner_id=user["id"], created_at=now, updated_at=now, **body.model_dump()
        )

    @app.post("/api/v1/orders", status_code=status.HTTP_202_ACCEPTED)
    async def place_order(
        request: Request,
        response: Response,
        body: OrderCreate,
        idempotency_key: Annotated[
            str, Header(alias="Idempotency-Key", min_length=1, max_length=255)
        ],
    ) -> OrderPublic:
        request_hash = _request_hash(body)
        async with request.app.state.pool.acquire() as connection:
            user = await authenticate(connection, request)
            try:
                async with connection.transaction():
                    return await _place(connection, user["id"], body, idempotency_key, request_hash)
            except (_KeySeenError, asyncpg.UniqueViolationError):
                # Seen before (or a concurrent retry won the race): answer what it created.
                replayed = await _load_by_key(connection, user["id"], idempotency_key)
                if replayed.pop("request_hash") != request_hash:
                    raise ApiError(
                        409,
                        "idempotency_key_reused",
                        "this Idempotency-Key was used for a different order",
                    ) from None
                response.headers["Idempotent-Replayed"] = "true"
                return OrderPublic.model_validate(replayed)

    @app.get("/healthz")
    async def liveness() -> dict[str, str]:
        return {"status": "ok"}

    return app


class _KeySeenError(Exception):
    """The Idempotency-Key was used before: leave the transaction and answer the stored order."""


async def _place(
    connection: asyncpg.Connection,
    customer_id: int,
    body: OrderCreate,
    idempotency_key: str,
    request_hash: str,
) -> OrderPublic:
    """The service's `place_order` transaction: order, lines, first status, outbox event."""
    if await connection.fetchval(
        "SELECT 1 FROM orders WHERE customer_id = $1 AND idempotency_key = $2",
        customer_id,
        idempotency_key,
    ):
        raise _KeySeenError
    ids = [line.item_id for line in body.lines]
    if len(set(ids)) != len(ids):
        raise ApiError(422, "duplicate_item", "each item may appear in one line only")
    rows = await connection.fetch(
        "SELECT id, title, price FROM items WHERE id = any($1::int[])", ids
    )
    items = {row["id"]: row for row in rows}
    missing = [
        f"lines.{n}.item_id: item {i} does not exist" for n, i in enumerate(ids) if i not in items
    ]
    if missing:
        raise ApiError(422, "unknown_item", "; ".join(missing))
    lines = [
        {
            "item_id": line.item_id,
            "title": items[line.item_id]["title"],
            "unit_price": items[line.item_id]["price"],
            "quantity": line.quantity,
            "line_total": items[line.item_id]["price"] * line.quantity,
        }
        for line in body.lines
    ]
    total = sum((line["line_total"] for line in lines), Decimal("0.00"))
    if total > MAX_ORDER_TOTAL:
        raise ApiError(422, "total_too_large", f"the order total may not exceed {MAX_ORDER_TOTAL}")
    now = utcnow()
    order_id = await connection.fetchval(
        "INSERT INTO orders (customer_id, status, total, idempotency_key, request_hash, "
        "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        customer_id,
        OrderStatus.PENDING.value,
        total,
        idempotency_key,
        request_hash,
        now,
    )
    await connection.executemany(
        "INSERT INTO order_lines (order_id, item_id, title, unit_price, quantity) "
        "VALUES ($1, $2, $3, $4, $5)",
        [(order_id, ln["item_id"], ln["title"], ln["unit_price"], ln["quantity"]) for ln in lines],
    )
    await connection.execute(
        "INSERT INTO order_status_changes (order_id, status, at) VALUES ($1, $2, $3)",
        order_id,
        OrderStatus.PENDING.value,
        now,
    )
    event_id = str(uuid.uuid4())
    envelope = {
        "event_id": event_id,
        "event_type": ORDER_PLACED,
        "occurred_at": now.isoformat(),
        "data": {"order_id": order_id, "customer_id": customer_id},
    }
    await connection.execute(
        "INSERT INTO outbox_events (event_id, topic, event_type, ordering_key, payload, "
        "created_at, attempts, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $6)",
        event_id,
        ORDERS_TOPIC,
        ORDER_PLACED,
        customer_ordering_key(customer_id),
        json.dumps(envelope, separators=(",", ":"), default=str),
        now,
    )
    return OrderPublic.model_validate(
        {
            "id": order_id,
            "status": OrderStatus.PENDING,
            "lines": lines,
            "total": total,
            "failure_reason": None,
            "history": [{"status": OrderStatus.PENDING, "at": now, "reason": None}],
            "created_at": now,
            "updated_at": now,
        }
    )


async def _load_by_key(
    connection: asyncpg.Connection, customer_id: int, key: str
) -> dict[str, Any]:
    order = await connection.fetchrow(
        "SELECT id, status, total, failure_reason, request_hash, created_at, updated_at "
        "FROM orders WHERE customer_id = $1 AND idempotency_key = $2",
        customer_id,
        key,
    )
    if order is None:
        raise ApiError(409, "conflict", "the order with this key disappeared; retry")
    lines = await connection.fetch(
        "SELECT item_id, title, unit_price, quantity, unit_price * quantity AS line_total "
        "FROM order_lines WHERE order_id = $1 ORDER BY id",
        order["id"],
    )
    history = await connection.fetch(
        "SELECT status, at, reason FROM order_status_changes WHERE order_id = $1 ORDER BY id",
        order["id"],
    )
    return {
        **dict(order),
        "lines": [dict(line) for line in lines],
        "history": [dict(change) for change in history],
    }


def main() -> int:
    settings = get_settings()
    configure_logging(settings.log_level)
    serve(create_reference_app(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One error shape for every 4xx and 5xx answer:

    {"detail": "<what went wrong, for a person>", "code": "<stable machine code>",
     "request_id": "<id>", "errors": [<field errors, validation only>]}

`detail` keeps FastAPI's and OAuth2 clients' expectations; `code` is what programs branch on.
Unexpected exceptions are logged with the request id and answered as 500 without internals
(by `service.core.middleware`, where the request id is still known).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from service.core import messages
from service.core.db_outage import (
    RETRY_AFTER_SECONDS,
    describe,
    is_database_unavailable,
    misconfiguration,
)
from service.core.logs import request_id_var

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An expected failure with a status code; raise it from handlers and dependencies."""

    def __init__(
        self,
        status_code: int,
        code: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.code = code
        self.detail = detail
        self.headers = headers


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def error_response(
    status_code: int,
    code: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail, "code": code, "request_id": request_id_var.get()}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(jsonable_encoder(body), status_code=status_code, headers=headers)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.detail, headers=exc.headers)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return error_response(exc.status_code, code, detail, headers=exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    # Each error in words a person can act on (service/core/messages.py); `loc` and `type`
    # stay pydantic's, for programs.
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": list(err.get("loc", ())),
            "msg": messages.describe(err, exc.body),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    summary = "; ".join(e["msg"] for e in errors[:5])
    return error_response(422, "validation_error", f"invalid request: {summary}", errors=errors)


def log_unexpected(scope: Scope, exc: Exception) -> None:
    log.error(
        "unhandled error",
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"method": scope.get("method"), "path": scope.get("path")},
    )


def internal_error_response() -> JSONResponse:
    return error_response(500, "internal_error", "internal error; quote the request id to support")


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    # The database refused a value the schemas let through (a NUL character in text, a number
    # out of a column's range): the request is at fault, not the server.
    log.info("database refused a value", extra={"error": str(getattr(exc, "orig", exc))[:200]})
    return error_response(
        422, "invalid_value", "a value cannot be stored (e.g. text with a NUL character)"
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    # Three different causes, three answers and three log lines, so operators look in the
    # right place (issue 23):
    # - the database refuses this service's settings for good (no such database, a refused
    #   password, no access): an operator must act; retrying does not help. ERROR, 500.
    # - an outage (fail-over, restart, network cut): 503 with Retry-After, one warning.
    # - anything else the database raised is unexpected: re-raised, it reaches the middleware,
    #   which logs it with its traceback and answers 500.
    where = {"method": request.method, "path": request.url.path}
    wrong_setting = misconfiguration(exc)
    if wrong_setting is not None:
        log.error(
            "database refuses this service's connection settings; fix the configuration",
            extra={**where, "sqlstate": wrong_setting, "error": describe(exc)},
        )
        return error_response(
            500,
            "service_misconfigured",
            "the service cannot use its database because of its configuration; retrying will not "
            "help; quote the request id to support",
        )
    if not is_database_unavailable(exc):
        raise exc
    log.warning("database unavailable", extra={**where, "error": describe(exc)})
    return error_response(
        503,
        "database_unavailable",
        "the database is unreachable for the moment; retry shortly (orders: with the same "
        "Idempotency-Key, which makes the retry safe)",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
    # Every pooled connection was in use for the whole pool timeout: this process is saturated
    # (or something holds connections too long), the database itself may be fine. Not the
    # "database unavailable" line, which sends operators to RDS.
    log.warning(
        "no free database connection within the pool timeout; the api is saturated",
        extra={"method": request.method, "path": request.url.path, "error": str(exc)[:200]},
    )
    return error_response(
        503,
        "server_busy",
        "the server is too busy to answer right now; retry shortly",
        headers={"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DataError, _data_error)  # before DBAPIError: its subclass
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeoutError, _pool_exhausted)
    app.add_exception_handler(ConnectionError, _database_error)  # an async driver's connect

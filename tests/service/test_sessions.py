"""Replaying tokens after every way a login ends, sensitive changes, the absolute session end,
pruning, and token contents an attacker controls (item numbers of issue 13 in the comments)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from jwt.api_jws import PyJWS
from sqlalchemy import func, select, update

from service.auth.models import LoginAttempts, LoginThrottle, RefreshFamily, RefreshToken
from service.core.config import Settings
from service.core.db import Database
from tests.utils.users import PASSWORD, LoggedIn, login, register
from tools.paths import REPO_ROOT

NEW_PASSWORD = "a brand new passphrase"


def me(client: TestClient, access_token: str) -> int:
    return client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {access_token}"}
    ).status_code


def refresh(client: TestClient, refresh_token: str) -> int:
    return client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token}).status_code


def confirmation_token(caplog: pytest.LogCaptureFixture) -> str:
    tokens = [getattr(r, "token", None) for r in caplog.records if hasattr(r, "token")]
    assert tokens, "no confirmation token was logged"
    return str(tokens[-1])


# --- 2. every token issued before a revocation stops working at once -------------------------

Revocation = Callable[[TestClient, LoggedIn, pytest.LogCaptureFixture, LoggedIn], None]


def change_password(client: TestClient, user: LoggedIn, *_: object) -> None:
    response = client.patch(
        "/api/v1/users/me",
        headers=user.headers,
        json={"password": NEW_PASSWORD, "current_password": PASSWORD},
    )
    assert response.status_code == 200, response.text


def change_email(
    client: TestClient, user: LoggedIn, caplog: pytest.LogCaptureFixture, *_: object
) -> None:
    caplog.set_level(logging.INFO, logger="service.users.email_change")
    new = f"moved-{uuid.uuid4().hex[:8]}@example.com"
    response = client.patch(
        "/api/v1/users/me",
        headers=user.headers,
        json={"email": new, "current_password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    confirmed = client.post(
        "/api/v1/users/email-confirmation", json={"token": confirmation_token(caplog)}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email"] == new


def logout_everywhere(client: TestClient, user: LoggedIn, *_: object) -> None:
    assert client.post("/api/v1/auth/logout-all", headers=user.headers).status_code == 204


def deactivate(
    client: TestClient, user: LoggedIn, _: pytest.LogCaptureFixture, admin: LoggedIn
) -> None:
    response = client.post(f"/api/v1/users/{user.id}/deactivate", headers=admin.headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "revoke",
    [change_password, change_email, logout_everywhere, deactivate],
    ids=lambda f: f.__name__,
)
def test_every_earlier_token_stops_working(
    client: TestClient,
    user: LoggedIn,
    superuser: LoggedIn,
    caplog: pytest.LogCaptureFixture,
    revoke: Revocation,
) -> None:
    other_device = login(client, user.email)
    # A stolen pair, already rotated once by the thief, is among the earlier tokens too.
    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    stolen = rotated.json()
    assert me(client, stolen["access_token"]) == 200

    revoke(client, user, caplog, superuser)

    for pair in (other_device, stolen):
        assert me(client, pair["access_token"]) == 401
        assert refresh(client, pair["refresh_token"]) == 401
    assert me(client, user.access_token) == 401


def test_logout_ends_that_login_only_and_its_access_token_at_once(
    client: TestClient, user: LoggedIn
) -> None:
    other_device = login(client, user.email)
    response = client.post("/api/v1/auth/logout", json={"refresh_token": user.refresh_token})
    assert response.status_code == 204
    assert me(client, user.access_token) == 401
    assert refresh(client, user.refresh_token) == 401
    assert me(client, other_device["access_token"]) == 200
    assert refresh(client, other_device["refresh_token"]) == 200


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"password": NEW_PASSWORD}, id="password-without-current"),
        pytest.param({"email": "thief@example.com"}, id="email-without-current"),
        pytest.param(
            {"password": NEW_PASSWORD, "current_password": "not the password"},
            id="password-with-wrong-current",
        ),
    ],
)
def test_a_leaked_access_token_alone_cannot_take_the_account(
    client: TestClient, user: LoggedIn, change: dict
) -> None:
    response = client.patch("/api/v1/users/me", headers=user.headers, json=change)
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_password"
    assert login(client, user.email)["access_token"]  # nothing changed
    assert client.get("/api/v1/users/me", headers=user.headers).json()["pending_email"] is None


def test_guessing_the_current_password_is_throttled(client: TestClient, user: LoggedIn) -> None:
    statuses = [
        client.patch(
            "/api/v1/users/me",
            headers=user.headers,
            json={"password": NEW_PASSWORD, "current_password": f"guess number {n}"},
        ).status_code
        for n in range(5)
    ]
    assert statuses == [403, 403, 403, 429, 429]  # the test settings allow 3 failures


def test_a_new_email_is_not_a_login_until_confirmed(
    client: TestClient, user: LoggedIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.users.email_change")
    new = f"new-{uuid.uuid4().hex[:8]}@example.com"
    client.patch(
        "/api/v1/users/me", headers=user.headers, json={"email": new, "current_password": PASSWORD}
    )
    unconfirmed = client.post("/api/v1/auth/token", data={"username": new, "password": PASSWORD})
    assert unconfirmed.status_code == 401
    assert login(client, user.email)["access_token"]
    token = confirmation_token(caplog)
    assert client.post("/api/v1/users/email-confirmation", json={"token": token}).status_code == 200
    assert login(client, new)["access_token"]
    # Used once: the e-mail is no longer pending, so the same token is refused.
    again = client.post("/api/v1/users/email-confirmation", json={"token": token})
    assert again.status_code == 400


def test_a_password_change_voids_a_pending_confirmation(
    client: TestClient, user: LoggedIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.users.email_change")
    client.patch(
        "/api/v1/users/me",
        headers=user.headers,
        json={"email": "attacker@example.com", "current_password": PASSWORD},
    )
    token = confirmation_token(caplog)
    change_password(client, user)
    response = client.post("/api/v1/users/email-confirmation", json={"token": token})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_confirmation"


# --- 4/10. an absolute session lifetime --------------------------------------------------------


def test_a_login_ends_at_its_absolute_lifetime_however_often_refreshed(
    client: TestClient, user: LoggedIn, database: Database
) -> None:
    pair = client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}).json()
    with database.sessions() as session:
        session.execute(
            update(RefreshFamily).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()
    assert refresh(client, pair["refresh_token"]) == 401
    assert me(client, pair["access_token"]) == 401


def test_refresh_tokens_expire_no_later_than_the_session(
    settings: Settings, database: Database
) -> None:
    from service.app import create_app

    short = settings.model_copy(update={"session_max_days": 1, "refresh_token_days": 14})
    with TestClient(create_app(short, database=database)) as client:
        pair = login(client, register(client)["email"])
        for _ in range(2):
            claims = jwt.decode(pair["refresh_token"], options={"verify_signature": False})
            assert claims["exp"] - claims["iat"] <= 24 * 3600
            pair = client.post(
                "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
            ).json()


# --- 10. pruning -----------------------------------------------------------------------------


def _add_a_dead_and_a_live_attempt(database: Database) -> datetime:
    """One attempt row past its window and delay (prunable), one current; returns `now`."""
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=2)
    with database.sessions() as session:
        session.add_all(
            [
                LoginAttempts(
                    key="account:gone@example.com",
                    failures=7,
                    window_started_at=long_ago,
                    next_attempt_at=long_ago,
                ),
                LoginAttempts(
                    key="account:live@example.com",
                    failures=2,
                    window_started_at=now,
                    next_attempt_at=now,
                ),
            ]
        )
        session.commit()
    return now


def test_a_login_prunes_dead_throttle_and_token_rows(
    settings: Settings, database: Database
) -> None:
    from service.app import create_app

    now = _add_a_dead_and_a_live_attempt(database)
    with database.sessions() as session:
        session.add(
            LoginThrottle(
                email="old@example.com", failures=9, window_started_at=now - timedelta(days=2)
            )
        )
        session.commit()
    eager = settings.model_copy(update={"prune_interval_seconds": 0})
    with TestClient(create_app(eager, database=database)) as client:
        user = register(client)["email"]
        revoked = login(client, user)
        assert (
            client.post(
                "/api/v1/auth/logout", json={"refresh_token": revoked["refresh_token"]}
            ).status_code
            == 204
        )
        used = login(client, user)
        client.post("/api/v1/auth/refresh", json={"refresh_token": used["refresh_token"]})
        with database.sessions() as session:
            session.execute(
                update(RefreshToken)
                .where(RefreshToken.used_at.is_not(None))
                .values(expires_at=now - timedelta(seconds=1))
            )
            session.commit()
        live = login(client, user)  # this login prunes
        assert refresh(client, live["refresh_token"]) == 200
    with database.sessions() as session:
        keys = set(session.scalars(select(LoginAttempts.key)))
        throttles = session.scalar(select(func.count()).select_from(LoginThrottle))
        families = session.scalar(
            select(func.count())
            .select_from(RefreshFamily)
            .where(RefreshFamily.revoked_at.is_not(None))
        )
        expired = session.scalar(
            select(func.count()).select_from(RefreshToken).where(RefreshToken.expires_at <= now)
        )
    assert "account:gone@example.com" not in keys
    assert "account:live@example.com" in keys
    assert throttles == 0
    assert families == 0
    assert expired == 0


# --- 11. no oracle, no 500, no internals, no silent default environment -----------------------


def test_a_deactivated_account_answers_like_a_wrong_password(
    client: TestClient, user: LoggedIn, superuser: LoggedIn
) -> None:
    client.post(f"/api/v1/users/{user.id}/deactivate", headers=superuser.headers)
    answers = [
        client.post("/api/v1/auth/token", data={"username": user.email, "password": password})
        for password in (PASSWORD, "not the password at all")
    ]
    right, wrong = ({k: v for k, v in a.json().items() if k != "request_id"} for a in answers)
    assert answers[0].status_code == answers[1].status_code == 401
    assert right == wrong


def _signed(settings: Settings, **claims: object) -> str:
    """Any JSON payload, correctly signed (PyJWT's `encode` refuses some; the signer does not)."""
    now = int(datetime.now(UTC).timestamp())
    base: dict[str, object] = {
        "sub": "1",
        "jti": str(uuid.uuid4()),
        "fam": str(uuid.uuid4()),
        "ver": 0,
        "iat": now,
        "exp": now + 300,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    }
    payload = json.dumps(base | claims).encode()
    return PyJWS().encode(payload, settings.jwt_secret.get_secret_value(), algorithm="HS256")


HOSTILE_CLAIMS = [
    {"sub": str(10**30)},
    {"sub": 5},
    {"sub": "-1"},
    {"sub": "0"},
    {"sub": "1e3"},
    {"sub": ["1"]},
    {"sub": "1\x00"},
    {"jti": "\x00"},
    {"jti": "x" * 2000},
    {"jti": 12},
    {"ver": "0"},
    {"ver": True},
    {"ver": 10**30},
    {"ver": -1},
    {"fam": {"a": 1}},
    {"fam": "\x00"},
    {"fam": "f" * 2000},
    {"exp": 1e300},
    {"exp": "soon"},
    {"exp": "9999999999"},  # a string PyJWT's int() accepts: was a 500 (issue 23)
    {"exp": "99999999999.5"},
    {"iat": "yesterday"},
    {"nbf": 10**20},
    {"aud": ["someone", "else"]},
    {"iss": 7},
]


@pytest.mark.parametrize("claims", HOSTILE_CLAIMS, ids=[str(c)[:30] for c in HOSTILE_CLAIMS])
def test_no_token_content_causes_anything_but_a_plain_401(
    client: TestClient, settings: Settings, user: LoggedIn, claims: dict
) -> None:
    access = _signed(settings, typ="access", **claims)
    refresh_token = _signed(settings, typ="refresh", **claims)
    answers = [
        client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {access}"}),
        client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token}),
        client.post("/api/v1/auth/logout", json={"refresh_token": refresh_token}),
    ]
    for answer in answers:
        assert answer.status_code == 401, answer.text
        assert answer.json()["detail"] in {
            "invalid or expired access token",
            "invalid refresh token",
            "this login has ended; log in again",
        }


def test_401_bodies_do_not_echo_the_jwt_library(
    client: TestClient, settings: Settings, user: LoggedIn
) -> None:
    expired = _signed(settings, typ="access", exp=int(datetime.now(UTC).timestamp()) - 3600)
    forged = jwt.encode({"sub": "1"}, "another secret of sufficient length!!", algorithm="HS256")
    bodies = {
        client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).json()[
            "detail"
        ]
        for token in (expired, forged, "not.a.jwt", user.refresh_token)
    }
    assert bodies == {"invalid or expired access token"}


def _run_api(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", "api"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_api_refuses_to_start_without_environment() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ENVIRONMENT"}
    result = _run_api(env | {"PORT": "1", "DATABASE_URL": "sqlite:///:memory:"})
    assert result.returncode == 2, result.stderr
    assert "environment" in result.stderr.lower()


def test_the_api_outside_local_refuses_to_start_without_trusted_proxies() -> None:
    env = {
        **os.environ,
        "ENVIRONMENT": "staging",
        "JWT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
        "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        "PORT": "1",
    }
    env.pop("TRUSTED_PROXIES", None)
    result = _run_api(env)
    assert result.returncode == 2, result.stderr
    assert "TRUSTED_PROXIES" in result.stderr


def test_prune_logins_command_deletes_dead_rows_and_keeps_live_ones(
    settings: Settings, database: Database
) -> None:
    # The scheduled chore services.yaml declares (issue 24): the same deletion as a login's, run
    # as the container runs it, against the test's database (SQLite and PostgreSQL).
    _add_a_dead_and_a_live_attempt(database)
    ran = subprocess.run(
        [sys.executable, "-m", "service", "prune-logins"],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": settings.database_url, "ENVIRONMENT": "local"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert "login_attempts: 1 deleted" in ran.stdout
    with database.sessions() as session:
        keys = set(session.scalars(select(LoginAttempts.key)))
    assert keys == {"account:live@example.com"}

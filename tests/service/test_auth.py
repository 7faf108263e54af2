"""The OAuth2 password flow, refresh rotation with reuse detection, logout, and token attacks."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from service.core.config import Settings
from tests.utils.users import PASSWORD, LoggedIn, register, unique_email


def refresh(client: TestClient, token: str):
    return client.post("/api/v1/auth/refresh", json={"refresh_token": token})


def test_login_answers_a_bearer_pair(client: TestClient) -> None:
    email = register(client)["email"]
    response = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["access_token"] != body["refresh_token"]


def test_login_email_is_case_insensitive(client: TestClient) -> None:
    email = register(client)["email"]
    response = client.post(
        "/api/v1/auth/token", data={"username": email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200


def test_login_wrong_password_is_401(client: TestClient) -> None:
    email = register(client)["email"]
    response = client.post(
        "/api/v1/auth/token", data={"username": email, "password": "wrong password!"}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "bad_credentials"


def test_login_unknown_user_is_401_like_a_wrong_password(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/token", data={"username": unique_email(), "password": PASSWORD}
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "incorrect e-mail or password"


def test_login_missing_form_field_is_422(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", data={"username": "x@example.com"})
    assert response.status_code == 422
    assert "password" in response.json()["detail"]


def test_refresh_rotates_the_pair(client: TestClient, user: LoggedIn) -> None:
    response = refresh(client, user.refresh_token)
    assert response.status_code == 200
    pair = response.json()
    assert pair["refresh_token"] != user.refresh_token
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.status_code == 200
    assert refresh(client, pair["refresh_token"]).status_code == 200


def test_refresh_token_reuse_is_refused_and_revokes_the_family(
    client: TestClient, user: LoggedIn
) -> None:
    rotated = refresh(client, user.refresh_token).json()
    replay = refresh(client, user.refresh_token)
    assert replay.status_code == 401
    assert replay.json()["code"] == "token_reused"
    # The legitimate holder's newer token is dead too: the family was revoked.
    assert refresh(client, rotated["refresh_token"]).status_code == 401


def test_refresh_token_reuse_leaves_other_logins_alone(client: TestClient, user: LoggedIn) -> None:
    other_login = client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": PASSWORD}
    ).json()
    refresh(client, user.refresh_token)
    refresh(client, user.refresh_token)  # reuse: revokes the first family only
    assert refresh(client, other_login["refresh_token"]).status_code == 200


def test_logout_revokes_the_refresh_token(client: TestClient, user: LoggedIn) -> None:
    response = client.post("/api/v1/auth/logout", json={"refresh_token": user.refresh_token})
    assert response.status_code == 204
    after = refresh(client, user.refresh_token)
    assert after.status_code == 401
    assert after.json()["code"] == "token_revoked"


def test_logout_with_garbage_token_is_401(client: TestClient) -> None:
    response = client.post("/api/v1/auth/logout", json={"refresh_token": "garbage"})
    assert response.status_code == 401


def test_refresh_token_is_not_an_access_token(client: TestClient, user: LoggedIn) -> None:
    response = client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {user.refresh_token}"}
    )
    assert response.status_code == 401
    assert "access" in response.json()["detail"]


def test_access_token_is_not_a_refresh_token(client: TestClient, user: LoggedIn) -> None:
    assert refresh(client, user.access_token).status_code == 401


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_alg_none_token_is_401(client: TestClient, user: LoggedIn) -> None:
    forged = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(user.access_token))}."
    response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_tampered_token_is_401(client: TestClient, user: LoggedIn, other_user: LoggedIn) -> None:
    header, _, signature = user.access_token.split(".")
    claims = _claims(user.access_token) | {"sub": str(other_user.id)}
    tampered = f"{header}.{_b64(claims)}.{signature}"
    response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {tampered}"})
    assert response.status_code == 401


def _signed(settings: Settings, **overrides: object) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": "1",
        "jti": str(uuid.uuid4()),
        "fam": str(uuid.uuid4()),
        "ver": 0,
        "typ": "access",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
    } | overrides
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"exp": datetime.now(UTC) - timedelta(minutes=1)}, id="expired"),
        pytest.param({"aud": "someone-else"}, id="wrong-audience"),
        pytest.param({"iss": "someone-else"}, id="wrong-issuer"),
        pytest.param({"typ": "refresh"}, id="wrong-type"),
        pytest.param({"sub": "not-a-number"}, id="bad-subject"),
    ],
)
def test_bad_claims_are_401(
    client: TestClient, settings: Settings, user: LoggedIn, overrides: dict
) -> None:
    token = _signed(settings, **({"sub": str(user.id)} | overrides))
    response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_token_signed_with_another_secret_is_401(client: TestClient, user: LoggedIn) -> None:
    claims = _claims(user.access_token)
    forged = jwt.encode(claims, "another secret of sufficient length!!", algorithm="HS256")
    response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


def test_valid_token_of_deleted_user_is_401(client: TestClient, settings: Settings) -> None:
    token = _signed(settings, sub="987654")
    response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_repeated_failed_logins_are_throttled_with_retry_after(client: TestClient) -> None:
    email = register(client)["email"]
    bad = {"username": email, "password": "not the password"}
    # The test settings allow 3 failures per window.
    for _ in range(3):
        assert client.post("/api/v1/auth/token", data=bad).status_code == 401
    throttled = client.post("/api/v1/auth/token", data=bad)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert throttled.json()["code"] == "too_many_attempts"
    # Even the right password is refused while locked: that is what stops guessing.
    right = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert right.status_code == 429


def test_throttle_is_per_account(client: TestClient) -> None:
    victim = register(client)["email"]
    bystander = register(client)["email"]
    for _ in range(4):
        client.post("/api/v1/auth/token", data={"username": victim, "password": "nope nope nope"})
    ok = client.post("/api/v1/auth/token", data={"username": bystander, "password": PASSWORD})
    assert ok.status_code == 200


def test_successful_login_resets_the_failure_count(client: TestClient) -> None:
    email = register(client)["email"]
    bad = {"username": email, "password": "not the password"}
    for _ in range(2):
        client.post("/api/v1/auth/token", data=bad)
    assert (
        client.post(
            "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
        ).status_code
        == 200
    )
    for _ in range(2):
        assert client.post("/api/v1/auth/token", data=bad).status_code == 401

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.utils.users import PASSWORD, LoggedIn, login, unique_email


def test_register_user_answers_202_without_the_account(client: TestClient) -> None:
    response = client.post(
        "/api/v1/users",
        json={"email": "Mixed.Case@Example.com", "password": PASSWORD, "full_name": "Ada"},
    )
    assert response.status_code == 202
    assert response.json() == {"detail": response.json()["detail"]}  # nothing but the message
    assert "check your e-mail" in response.json()["detail"]
    assert "password" not in response.text
    assert "hashed" not in response.text


def test_register_user_short_password_is_422_naming_the_field(client: TestClient) -> None:
    response = client.post(
        "/api/v1/users", json={"email": unique_email(), "password": "elevenchars"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    # In words a person can act on, not pydantic's sentence (issue 23).
    assert body["detail"] == "invalid request: password needs at least 12 characters"
    assert body["errors"][0]["loc"] == ["body", "password"]


def test_register_user_accepts_twelve_characters_without_composition_rules(
    client: TestClient,
) -> None:
    response = client.post(
        "/api/v1/users", json={"email": unique_email(), "password": "aaaaaaaaaaaa"}
    )
    assert response.status_code == 202


def test_register_user_bad_email_is_422(client: TestClient) -> None:
    response = client.post("/api/v1/users", json={"email": "not-an-email", "password": PASSWORD})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("invalid request: email is not a valid e-mail")


def test_register_user_unknown_field_is_422(client: TestClient) -> None:
    response = client.post(
        "/api/v1/users",
        json={"email": unique_email(), "password": PASSWORD, "is_superuser": True},
    )
    assert response.status_code == 422


def test_read_me(client: TestClient, user: LoggedIn) -> None:
    response = client.get("/api/v1/users/me", headers=user.headers)
    assert response.status_code == 200
    assert response.json()["email"] == user.email


def test_read_me_without_token_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_update_me_changes_name_without_the_password(client: TestClient, user: LoggedIn) -> None:
    response = client.patch("/api/v1/users/me", headers=user.headers, json={"full_name": "New"})
    assert response.status_code == 200
    assert response.json()["full_name"] == "New"


def test_update_me_email_stays_pending_until_confirmed(client: TestClient, user: LoggedIn) -> None:
    response = client.patch(
        "/api/v1/users/me",
        headers=user.headers,
        json={"email": "renamed@example.com", "current_password": PASSWORD},
    )
    assert response.status_code == 200
    assert response.json()["email"] == user.email
    assert response.json()["pending_email"] == "renamed@example.com"


def test_update_me_to_taken_email_is_409(
    client: TestClient, user: LoggedIn, other_user: LoggedIn
) -> None:
    response = client.patch(
        "/api/v1/users/me",
        headers=user.headers,
        json={"email": other_user.email, "current_password": PASSWORD},
    )
    assert response.status_code == 409


def test_update_me_password_allows_new_login_and_revokes_refresh_tokens(
    client: TestClient, user: LoggedIn
) -> None:
    new_password = "another long passphrase"
    response = client.patch(
        "/api/v1/users/me",
        headers=user.headers,
        json={"password": new_password, "current_password": PASSWORD},
    )
    assert response.status_code == 200
    assert login(client, user.email, new_password)["access_token"]
    old_refresh = client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert old_refresh.status_code == 401


def test_read_users_needs_superuser(client: TestClient, user: LoggedIn) -> None:
    response = client.get("/api/v1/users", headers=user.headers)
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_read_users_as_superuser_is_paginated(
    client: TestClient, superuser: LoggedIn, user: LoggedIn, other_user: LoggedIn
) -> None:
    response = client.get("/api/v1/users?offset=1&limit=1", headers=superuser.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert len(body["data"]) == 1


def test_read_users_limit_over_cap_is_422(client: TestClient, superuser: LoggedIn) -> None:
    response = client.get("/api/v1/users?limit=101", headers=superuser.headers)
    assert response.status_code == 422


def test_deactivate_user_blocks_tokens_and_login(
    client: TestClient, superuser: LoggedIn, user: LoggedIn
) -> None:
    response = client.post(f"/api/v1/users/{user.id}/deactivate", headers=superuser.headers)
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    # One answer for a deactivated account everywhere: 401, as for a token or password that
    # does not work (no 403 that would tell a guesser the password was right).
    assert client.get("/api/v1/users/me", headers=user.headers).status_code == 401
    relogin = client.post(
        "/api/v1/auth/token", data={"username": user.email, "password": user.password}
    )
    assert relogin.status_code == 401
    assert relogin.json()["code"] == "bad_credentials"
    refresh = client.post("/api/v1/auth/refresh", json={"refresh_token": user.refresh_token})
    assert refresh.status_code == 401


def test_deactivate_user_needs_superuser(
    client: TestClient, user: LoggedIn, other_user: LoggedIn
) -> None:
    response = client.post(f"/api/v1/users/{other_user.id}/deactivate", headers=user.headers)
    assert response.status_code == 403


def test_deactivate_unknown_user_is_404(client: TestClient, superuser: LoggedIn) -> None:
    response = client.post("/api/v1/users/999999/deactivate", headers=superuser.headers)
    assert response.status_code == 404


def test_deactivate_self_is_400(client: TestClient, superuser: LoggedIn) -> None:
    response = client.post(f"/api/v1/users/{superuser.id}/deactivate", headers=superuser.headers)
    assert response.status_code == 400

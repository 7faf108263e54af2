"""Sign-up that tells nothing and proves the address, look-alike addresses, and the operator
command that makes ready accounts (issue 23, items 3 and 8). Each attack here succeeded against
the release before issue 23: a taken address answered 409 `email_taken` (also for its case and
Kelvin-sign variants), any address could log in at once without proof, and `katе@example.com`
(Cyrillic `е`) was accepted beside `kate@example.com`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from service.auth import passwords
from service.core.config import Settings
from service.core.db import Database, utcnow
from service.users.models import User
from tests.utils.users import PASSWORD, login, register, unique_email
from tools.paths import REPO_ROOT

SIGN_UP = "/api/v1/users"
TOKEN = "/api/v1/auth/token"


def sign_up(client: TestClient, email: str, password: str = PASSWORD):
    return client.post(SIGN_UP, json={"email": email, "password": password})


def logged(caplog: pytest.LogCaptureFixture, attribute: str) -> list[str]:
    return [str(getattr(r, attribute)) for r in caplog.records if hasattr(r, attribute)]


def confirm(client: TestClient, token: str):
    return client.post("/api/v1/users/signup-confirmation", json={"token": token})


# --- the answer tells nothing ------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    ["kate@example.com", "KATE@Example.COM", "\u212aate@example.com"],  # Kelvin sign K
    ids=["same", "case", "kelvin"],
)
def test_a_taken_address_answers_exactly_like_a_free_one(
    client: TestClient, caplog: pytest.LogCaptureFixture, variant: str
) -> None:
    register(client, "kate@example.com")
    caplog.set_level("INFO")
    taken = sign_up(client, variant)
    free = sign_up(client, unique_email("free"))
    assert taken.status_code == free.status_code == 202
    assert taken.json() == free.json()
    assert set(taken.headers) == set(free.headers)
    # What differs goes to the mailbox: the owner of the taken address gets a notice, the free
    # address its confirmation token.
    assert logged(caplog, "notice") == ["signup_for_existing_address"]
    assert len(logged(caplog, "token")) == 1


def test_a_second_sign_up_does_not_change_the_owners_account(client: TestClient) -> None:
    owner = register(client, "owner@example.com")
    assert sign_up(client, "owner@example.com", "the squatter's password").status_code == 202
    assert (
        client.post(
            TOKEN, data={"username": "owner@example.com", "password": "the squatter's password"}
        ).status_code
        == 401
    )
    assert login(client, owner["email"])["access_token"]


# --- the address is proven before the account can log in ---------------------------------------


def test_an_unconfirmed_sign_up_cannot_log_in_until_confirmed(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    assert sign_up(client, "new@example.com").status_code == 202
    (token,) = logged(caplog, "token")
    refused = client.post(TOKEN, data={"username": "new@example.com", "password": PASSWORD})
    assert refused.status_code == 403
    assert refused.json()["code"] == "email_not_confirmed"
    assert "confirm your e-mail address" in refused.json()["detail"]
    # A wrong password is still the plain 401: the 403 only follows the right password.
    wrong = client.post(TOKEN, data={"username": "new@example.com", "password": "x" * 12})
    assert wrong.status_code == 401
    confirmed = confirm(client, token)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email"] == "new@example.com"
    assert login(client, "new@example.com")["access_token"]
    assert confirm(client, token).status_code == 400  # once only


@pytest.mark.parametrize("token", ["", "x" * 5000, "not.a.token"])
def test_a_malformed_confirmation_is_a_plain_4xx(client: TestClient, token: str) -> None:
    assert confirm(client, token).status_code in (400, 422)


def test_an_access_token_is_not_a_sign_up_confirmation(client: TestClient) -> None:
    user = register(client)
    access = login(client, user["email"])["access_token"]
    assert confirm(client, access).status_code == 400


def test_a_squatted_address_is_not_taken_over_before_the_claim_lapses(
    client: TestClient, caplog: pytest.LogCaptureFixture, database: Database
) -> None:
    caplog.set_level("INFO")
    sign_up(client, "victim@example.com", "the squatter's password")
    (squatter_token,) = logged(caplog, "token")
    caplog.clear()
    # The owner signs up while the squatter's claim is fresh: a notice, no new token.
    sign_up(client, "victim@example.com", PASSWORD)
    assert logged(caplog, "token") == []
    assert logged(caplog, "notice") == ["signup_for_existing_address"]
    # Once the unproven claim has lapsed, the owner's sign-up takes the address over.
    with database.sessions() as session:
        session.execute(
            update(User)
            .where(User.email == "victim@example.com")
            .values(created_at=utcnow() - timedelta(hours=25))
        )
        session.commit()
    caplog.clear()
    sign_up(client, "victim@example.com", PASSWORD)
    (owner_token,) = logged(caplog, "token")
    assert confirm(client, squatter_token).status_code == 400  # the lapsed claim's token died
    assert confirm(client, owner_token).status_code == 200
    assert login(client, "victim@example.com")["access_token"]


# --- sign-ups are limited per client, before hashing, without starving logins ----------------


def test_sign_ups_beyond_the_per_client_limit_are_429_and_make_no_account(
    client: TestClient, settings: Settings, database: Database
) -> None:
    answers = [sign_up(client, unique_email("flood")).status_code for _ in range(8)]
    assert answers[: settings.signup_client_max] == [202] * settings.signup_client_max
    assert 429 in answers[settings.signup_client_max :], answers
    refused = sign_up(client, unique_email("flood"))
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_signups"
    assert int(refused.headers["retry-after"]) >= 1
    with database.sessions() as session:
        made = session.scalar(select(func.count()).where(User.email.like("flood%")))
    assert made == settings.signup_client_max


def test_sign_ups_cannot_take_the_hash_slots_logins_need(client: TestClient) -> None:
    user = register(client)
    limit = passwords._limit
    # Sign-ups already hold their whole share (every slot but one) of the Argon2 slots.
    held = 0
    while limit.signup_slots.acquire(blocking=False):
        held += 1
    try:
        busy = sign_up(client, unique_email())
        assert busy.status_code == 503
        assert busy.json()["code"] == "busy"
        assert login(client, user["email"])["access_token"]  # the login still gets its hash
    finally:
        for _ in range(held):
            limit.signup_slots.release()


# --- look-alike addresses ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "scripts"),
    [
        ("kat\u0435@example.com", "Latin and Cyrillic"),  # Cyrillic е
        ("\u03bflga@example.com", "Greek and Latin"),  # Greek omicron
        ("kate@ex\u0430mple.com", "Latin and Cyrillic"),  # in the domain
    ],
)
def test_a_mixed_script_address_is_refused_with_a_reason(
    client: TestClient, address: str, scripts: str
) -> None:
    response = sign_up(client, address)
    assert response.status_code == 422, response.text
    assert f"mixes {scripts} letters" in response.json()["detail"]
    assert response.json()["detail"].startswith("invalid request: email this address mixes")


@pytest.mark.parametrize(
    "address",
    [
        "\u043a\u0430\u0442\u044f@example.com",
        "\u3084\u307e\u30c0@example.jp",
        "jos\u00e9@example.com",
    ],
)
def test_a_single_script_address_is_accepted(client: TestClient, address: str) -> None:
    assert sign_up(client, address).status_code == 202


# --- the operator command ----------------------------------------------------------------------


def _create_user(
    database_url: str, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", "create-user", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": database_url, "ENVIRONMENT": "local"},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_create_user_makes_a_ready_account_from_a_password_on_stdin(
    client: TestClient, settings: Settings
) -> None:
    made = _create_user(
        settings.database_url,
        "ops@example.com",
        "--password-stdin",
        "--confirmed",
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stderr
    assert "ready to log in" in made.stdout
    assert PASSWORD not in made.stdout + made.stderr
    assert login(client, "ops@example.com")["access_token"]


def test_create_user_without_confirmed_waits_like_a_sign_up(
    client: TestClient, settings: Settings
) -> None:
    made = _create_user(settings.database_url, "later@example.com", "--password", PASSWORD)
    assert made.returncode == 0, made.stderr
    answer = client.post(TOKEN, data={"username": "later@example.com", "password": PASSWORD})
    assert answer.status_code == 403


def test_create_user_explains_a_bad_password_and_a_taken_address(settings: Settings) -> None:
    short = _create_user(settings.database_url, "a@example.com", "--password", "short")
    assert short.returncode == 2
    assert short.stderr.strip() == "error: password needs at least 12 characters"
    assert (
        _create_user(
            settings.database_url, "a@example.com", "--password", PASSWORD, "--confirmed"
        ).returncode
        == 0
    )
    again = _create_user(settings.database_url, "a@example.com", "--password", PASSWORD)
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_a_command_without_settings_says_where_they_come_from() -> None:
    # An operator who runs create-user beside `make dev` without ENVIRONMENT: exit 2, and the
    # message names the setting and how to reach make dev's database, not a bare traceback.
    environment = {k: v for k, v in os.environ.items() if k not in ("ENVIRONMENT", "DATABASE_URL")}
    refused = subprocess.run(
        [sys.executable, "-m", "service", "create-user", "ops@example.com", "--password-stdin"],
        cwd=REPO_ROOT,
        env=environment,
        input="correct-horse-battery-9",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode == 2, refused.stderr
    assert "environment" in refused.stderr.lower()
    assert "ENVIRONMENT=local reaches `make dev`'s database" in refused.stderr
    assert "Traceback" not in refused.stderr

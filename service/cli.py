"""`python -m service <command>`: the commands the container image and `make` run."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from service.core.config import Settings, get_settings
from service.core.logs import configure_logging

log = logging.getLogger("service")


def _api(settings: Settings, _: argparse.Namespace) -> int:
    from service.app import create_app
    from service.server import serve

    missing = settings.missing_api_settings()
    if missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    serve(create_app(settings), settings)
    return 0


def _worker(settings: Settings, _: argparse.Namespace) -> int:
    from service.messaging.worker import run_worker

    return run_worker(settings)


def _relay(settings: Settings, _: argparse.Namespace) -> int:
    import signal
    import threading

    from service.core.db import Database
    from service.messaging.relay import OutboxRelay

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    database = Database(settings.database_url, pool_size=2, max_overflow=0)
    OutboxRelay(database, settings).run(stop)
    database.dispose()
    return 0


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    from service.core.db import make_engine
    from service.migrations.runner import upgrade

    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return 0


def _prune_logins(settings: Settings, _: argparse.Namespace) -> int:
    """Delete the authentication rows nobody can use any more (service/auth/pruning.py).

    Logins also prune, at most once per PRUNE_INTERVAL_SECONDS per process; this command is the
    same work as a chore of its own (services.yaml schedules it), so the tables stay small when
    nobody logs in for a long time.
    """
    from service.auth.pruning import prune
    from service.core.db import Database, utcnow

    database = Database(settings.database_url, pool_size=1, max_overflow=0)
    try:
        with database.sessions() as session:
            counts = prune(session, settings, now=utcnow())
    finally:
        database.dispose()
    log.info("pruned dead login rows", extra={"deleted": counts})
    print(", ".join(f"{table}: {count} deleted" for table, count in counts.items()))
    return 0


def _revision(settings: Settings, args: argparse.Namespace) -> int:
    from service.core.db import make_engine
    from service.migrations.runner import new_revision

    new_revision(make_engine(settings.database_url), args.message)
    return 0


def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    """An account for an operator, a rehearsal, a benchmark or a test: the documented way to get
    a ready account without a mailbox (sign-ups over HTTP must confirm their address)."""
    import getpass

    from pydantic import ValidationError

    from service.core import messages
    from service.core.db import Database
    from service.core.errors import ApiError
    from service.users.schemas import UserCreate
    from service.users.service import create_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = args.password or getpass.getpass("password (12+ characters): ")
    try:
        data = UserCreate(email=args.email, password=password, full_name=args.full_name)
    except ValidationError as exc:
        for problem in exc.errors():
            print(f"error: {messages.describe(problem)}", file=sys.stderr)
        return 2
    database = Database(settings.database_url, pool_size=1, max_overflow=0)
    try:
        with database.sessions() as session:
            user = create_user(
                session, data=data, is_superuser=args.superuser, confirmed=args.confirmed
            )
    except ApiError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        database.dispose()
    kind = "superuser" if args.superuser else "user"
    state = "ready to log in" if args.confirmed else "waiting for its address's confirmation"
    print(f"{kind} {user.email} created (id {user.id}), {state}")
    return 0


COMMANDS: dict[str, tuple[str, Callable[[Settings, argparse.Namespace], int]]] = {
    "api": ("serve the HTTP API (production server, drains on SIGTERM)", _api),
    "worker": ("consume orders from the order-processing queue", _worker),
    "relay": ("publish the outbox to SNS on its own (the API runs one in-process)", _relay),
    "migrate": ("apply database migrations (safe when several tasks start at once)", _migrate),
    "revision": ("autogenerate a migration from the models (development)", _revision),
    "create-user": ("create an account (for operators and automation)", _create_user),
    "prune-logins": ("delete expired login throttles and dead refresh tokens", _prune_logins),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, (help_text, _) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name == "revision":
            command.add_argument("message", help="what the migration changes")
        if name == "create-user":
            command.add_argument("email", help="the account's e-mail address (its login)")
            given = command.add_mutually_exclusive_group()
            given.add_argument(
                "--password",
                help="the password (visible to other users of the machine; "
                "prefer --password-stdin); prompted for when neither is given",
            )
            given.add_argument(
                "--password-stdin", action="store_true", help="read the password from stdin"
            )
            command.add_argument(
                "--confirmed",
                action="store_true",
                help="the address is known to be the owner's: the account can log in at once "
                "(without it, it waits for the address's confirmation like a sign-up)",
            )
            command.add_argument("--superuser", action="store_true", help="an administrator")
            command.add_argument("--full-name", default=None)
    args = parser.parse_args(argv)
    settings = settings_for_a_command()
    if settings is None:
        return 2
    return COMMANDS[args.command][1](settings, args)


def settings_for_a_command() -> Settings | None:
    """The settings, with logging configured from them; None (and why, on stderr) when invalid.
    Every command line (this one and the local tools') starts this way."""
    try:
        settings = get_settings()
    except Exception as exc:  # pydantic's message names the setting and what is wrong
        print(
            f"error: invalid settings:\n{exc}\n"
            "Settings come from the environment: ENVIRONMENT=local reaches `make dev`'s database "
            "(set DATABASE_URL for another); a deployment's tasks get theirs from the stack.",
            file=sys.stderr,
        )
        return None
    configure_logging(settings.log_level)
    return settings

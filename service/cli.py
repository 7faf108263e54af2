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


def _revision(settings: Settings, args: argparse.Namespace) -> int:
    from service.core.db import make_engine
    from service.migrations.runner import new_revision

    new_revision(make_engine(settings.database_url), args.message)
    return 0


def _create_superuser(settings: Settings, args: argparse.Namespace) -> int:
    import getpass

    from pydantic import ValidationError

    from service.core.db import Database
    from service.core.errors import ApiError
    from service.users.schemas import UserCreate
    from service.users.service import create_user

    password = args.password or getpass.getpass("password (12+ characters): ")
    try:
        data = UserCreate(email=args.email, password=password)
    except ValidationError as exc:
        print(f"error: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    database = Database(settings.database_url)
    with database.sessions() as session:
        try:
            user = create_user(session, data=data, is_superuser=True)
        except ApiError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 1
    print(f"superuser {user.email} created (id {user.id})")
    return 0


COMMANDS: dict[str, tuple[str, Callable[[Settings, argparse.Namespace], int]]] = {
    "api": ("serve the HTTP API (production server, drains on SIGTERM)", _api),
    "worker": ("consume orders from the order-processing queue", _worker),
    "relay": ("publish the outbox to SNS on its own (the API runs one in-process)", _relay),
    "migrate": ("apply database migrations (safe when several tasks start at once)", _migrate),
    "revision": ("autogenerate a migration from the models (development)", _revision),
    "create-superuser": ("create an administrator account", _create_superuser),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, (help_text, _) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name == "revision":
            command.add_argument("message", help="what the migration changes")
        if name == "create-superuser":
            command.add_argument("--email", required=True)
            command.add_argument("--password", help="prompted for when omitted")
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
        print(f"error: invalid settings:\n{exc}", file=sys.stderr)
        return None
    configure_logging(settings.log_level)
    return settings

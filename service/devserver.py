"""`make dev`: the whole system on one machine, in the foreground."""

from __future__ import annotations

from service.core.config import Settings


def run_dev(settings: Settings) -> int:
    from service.app import create_app
    from service.core.db import make_engine
    from service.migrations.runner import upgrade
    from service.server import serve

    upgrade(make_engine(settings.database_url))
    serve(create_app(settings), settings)
    return 0

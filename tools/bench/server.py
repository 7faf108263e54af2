"""`python -m tools.bench.server`: the service's app plus one bare JSON route, served as in
production.

The baseline must differ from the measured endpoints only by what the endpoints do: same
`create_app` (middleware, error handlers, lifespan), same `service.server.serve` (uvicorn
settings, one process), same settings from the environment. The bare route is a plain `def`, as
the service's handlers are, so it pays the same thread-pool hop; it only skips auth and the
database.
"""

from __future__ import annotations

import sys

from service.app import create_app
from service.core.config import get_settings
from service.core.logs import configure_logging
from service.server import serve

BARE_PATH = "/bench/bare"


def main() -> int:
    settings = get_settings()
    configure_logging(settings.log_level)
    app = create_app(settings)

    @app.get(BARE_PATH, include_in_schema=False)
    def bare() -> dict[str, str]:
        return {"status": "ok"}

    serve(app, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m tools.local [dev|function NAME|alerts]`: the system on this machine.

    dev       (`make dev`) the emulator, the migrations, the API with its relay and the web UI,
              the worker and one runner per declared function, each as its own process; Ctrl-C
              stops all
    function  the handler of the function NAME of services.yaml (kind: function), fed from its
              stand-in queue on the emulator (started by `dev`; on AWS, Lambda runs the same
              handler)
    alerts    the same for the demo's order-alerts function (`function order-alerts`)

Both are local by definition, so `ENVIRONMENT` defaults to `local` here and nowhere else.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.local", description=__doc__)
    parser.add_argument("command", nargs="?", default="dev", choices=("dev", "function", "alerts"))
    parser.add_argument("name", nargs="?", help="the function's name in services.yaml")
    args = parser.parse_args(argv)
    os.environ.setdefault("ENVIRONMENT", "local")

    from service.cli import settings_for_a_command

    settings = settings_for_a_command()
    if settings is None:
        return 2
    if args.command in ("function", "alerts"):
        from service.messaging.topology import ORDER_ALERTS_FUNCTION
        from tools.local.function_runner import run_function

        if args.command == "function" and not args.name:
            parser.error("function needs the function's name (a kind: function entry)")
        return run_function(settings, args.name or ORDER_ALERTS_FUNCTION)
    from tools.local.dev import run_dev

    return run_dev(settings)


if __name__ == "__main__":
    sys.exit(main())

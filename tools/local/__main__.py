"""`python -m tools.local [dev|alerts]`: the system on this machine.

    dev     (`make dev`) the emulator, the migrations, the API with its relay and the web UI,
            the worker and the order-alerts handler, each as its own process; Ctrl-C stops all
    alerts  the order-alerts Lambda handler fed from its stand-in queue on the emulator
            (started by `dev`; on AWS, Lambda runs the same handler)

Both are local by definition, so `ENVIRONMENT` defaults to `local` here and nowhere else.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.local", description=__doc__)
    parser.add_argument("command", nargs="?", default="dev", choices=("dev", "alerts"))
    args = parser.parse_args(argv)
    os.environ.setdefault("ENVIRONMENT", "local")

    from service.cli import settings_for_a_command

    settings = settings_for_a_command()
    if settings is None:
        return 2
    if args.command == "alerts":
        from service.messaging.topology import ORDER_ALERTS_FUNCTION
        from tools.local.function_runner import run_function

        return run_function(settings, ORDER_ALERTS_FUNCTION)
    from tools.local.dev import run_dev

    return run_dev(settings)


if __name__ == "__main__":
    sys.exit(main())

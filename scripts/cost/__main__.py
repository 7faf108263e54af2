"""`python -m scripts.cost refresh-prices ...`: see scripts/cost/refresh.py."""

import sys

from scripts.cost import refresh

COMMANDS = {"refresh-prices": refresh.main}

if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
    print(f"usage: python -m scripts.cost {{{','.join(COMMANDS)}}} [--help]", file=sys.stderr)
    sys.exit(2)
sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))

import sys

from tools.rehearsal.cli import main

sys.exit(main())

"""The one exception every deploy script raises for an expected failure.

`main()` functions turn it into an `error:` line (a GitHub error annotation on a runner) and exit
status 1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class DeployError(RuntimeError):
    """A pipeline step failed for a reason the message explains, with what to do next."""

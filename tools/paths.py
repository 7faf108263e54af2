"""The repository root, for every tool, script and test that reads files of the checkout.

Defined once here. The Pulumi program has its own (`infra.paths`): it runs on a deploy machine
without the development tools, so it cannot import this package.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

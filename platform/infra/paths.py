"""The repository root, for the files the program ships: the image's build context, the Lambda
packages and the web assets. (Tools and tests have their own, `tools.paths`: the program runs on
a deploy machine without the development tools.)"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

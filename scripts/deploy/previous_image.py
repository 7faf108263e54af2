"""Which image to roll a stack back to, computed from its recorded update history.

Every deploy sets the config value `shipyard:image_ref` (a digest reference) before `pulumi up`,
and Pulumi records each update's configuration. So the history answers the question exactly:
the current image is the one the newest update was asked to deploy (whether or not it
succeeded), and the rollback target is the image of the newest *succeeded* update that deployed a
different image. Config-only updates that kept the image are skipped. Rolling back twice returns
to the image rolled back from: "previous" means previous in the history, not in build order.

    pulumi stack history --stack prod --json --page-size 100 > history.json
    python -m scripts.deploy.previous_image --history history.json   # prints the reference
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.deploy.errors import DeployError, read_json
from scripts.deploy.github_actions import run_main, set_output
from scripts.deploy.image_ref import parse_image_ref

IMAGE_CONFIG_KEY = "shipyard:image_ref"


@dataclass(frozen=True)
class Rollback:
    current: str
    previous: str
    previous_version: int  # the stack update that last ran `previous`


def _image_of(update: Mapping[str, Any]) -> str | None:
    value = (update.get("config") or {}).get(IMAGE_CONFIG_KEY)
    if not isinstance(value, Mapping) or value.get("secret") or not value.get("value"):
        return None
    return str(value["value"])


def find_previous_image(history: Sequence[Mapping[str, Any]]) -> Rollback:
    updates = sorted(
        (u for u in history if u.get("kind") == "update" and _image_of(u)),
        key=lambda u: int(u.get("version", 0)),
        reverse=True,
    )
    if not updates:
        raise DeployError(
            f"no deploy in this history recorded {IMAGE_CONFIG_KEY}; nothing to roll back to (is "
            "this the right stack, and did the pipeline deploy it? `--page-size` may be too small)"
        )
    current = _image_of(updates[0])
    assert current is not None
    for update in updates[1:]:
        image = _image_of(update)
        if update.get("result") == "succeeded" and image and image != current:
            parse_image_ref(image)  # refuse to roll back to anything but a digest reference
            return Rollback(current, image, int(update.get("version", 0)))
    raise DeployError(
        f"every succeeded update in this history ran {current}; there is no earlier image to roll "
        "back to (ask for more history with --page-size, or deploy a fix forward)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=Path, required=True, help="`pulumi stack history --json`")
    args = parser.parse_args(argv)

    def body() -> int:
        history = read_json(args.history, made_by="pulumi stack history --json")
        if not isinstance(history, list):
            raise DeployError(
                "the history must be the JSON list `pulumi stack history --json` prints"
            )
        rollback = find_previous_image(history)
        print(
            f"rolling back from {rollback.current} to {rollback.previous} "
            f"(last deployed by update {rollback.previous_version})",
            file=sys.stderr,
        )
        set_output("image_ref", rollback.previous)
        set_output("current_image_ref", rollback.current)
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())

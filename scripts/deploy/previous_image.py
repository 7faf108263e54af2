"""Which image to roll a stack back to, computed from its recorded update history.

Every deploy sets the config value `shipyard:image_ref` (a digest reference) before `pulumi up`,
and Pulumi records each update's configuration. So the history answers the question exactly:
the current image is the one the newest update was asked to deploy (whether or not it
succeeded), and the rollback target is the image of the newest *succeeded* update that deployed a
different image. Config-only updates that kept the image are skipped. Rolling back twice returns
to the image rolled back from: "previous" means previous in the history, not in build order.

"Newest" is by start time: the DIY (S3) backend this project uses records every update with
version 0, so the version orders nothing there (it breaks ties only, on a backend that counts).

    pulumi stack history --stack prod --json --page-size 100 > history.json
    python -m scripts.deploy.previous_image --history history.json   # prints the reference
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.config import NS
from scripts.deploy.errors import DeployError, read_json
from scripts.deploy.github_actions import run_main, set_output
from scripts.deploy.image_ref import parse_image_ref

# In the project's namespace (Pulumi.yaml's `name:`), where the deploy sets it.
IMAGE_CONFIG_KEY = f"{NS}image_ref"


@dataclass(frozen=True)
class Rollback:
    current: str
    previous: str
    previous_started: str  # when the update that last ran `previous` started (its startTime)
    previous_version: int  # its version: 0 on the DIY backend, which does not count updates


def _image_of(update: Mapping[str, Any]) -> str | None:
    value = (update.get("config") or {}).get(IMAGE_CONFIG_KEY)
    if not isinstance(value, Mapping) or value.get("secret") or not value.get("value"):
        return None
    return str(value["value"])


def _started(update: Mapping[str, Any]) -> datetime:
    """The update's `startTime` (`pulumi stack history --json`: RFC 3339, UTC, milliseconds)."""
    text = update.get("startTime")
    try:
        started = datetime.fromisoformat(str(text))
    except ValueError:
        raise DeployError(
            f"a history entry ({update.get('message') or 'no message'!r}) has startTime={text!r}, "
            "not a date-time; pass the file `pulumi stack history --json` wrote, unedited"
        ) from None
    # Pulumi writes UTC with an offset; an edited entry without one is read as UTC too.
    return started if started.tzinfo else started.replace(tzinfo=UTC)


def find_previous_image(history: Sequence[Mapping[str, Any]]) -> Rollback:
    updates = sorted(
        (u for u in history if u.get("kind") == "update" and _image_of(u)),
        key=lambda u: (_started(u), int(u.get("version", 0))),
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
            started = str(update["startTime"])
            return Rollback(current, image, started, int(update.get("version", 0)))
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
            f"(last deployed by the update started at {rollback.previous_started})",
            file=sys.stderr,
        )
        set_output("image_ref", rollback.previous)
        set_output("current_image_ref", rollback.current)
        return 0

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())

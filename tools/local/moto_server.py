"""moto's server, with two corrections that make its access control judge like AWS's IAM.

`python -m tools.local.moto_server -H 127.0.0.1 -p PORT` is `python -m moto.server` after two
patches. They change nothing while access control is off (moto's default); with it on
(`INITIAL_NO_AUTH_ACTION_COUNT`, or a POST to `/moto-api/reset-auth`), they let a grant written
for AWS be judged as AWS would judge it, neither looser nor stricter:

1. SNS resource. moto authorises every SNS call against the resource `*` (its SNS responses
   name no resource), so a grant scoped to a topic, e.g. `sns:Publish` on the topic's ARN, is
   always denied. AWS authorises against the topic the call names: give moto's SNS responses
   that resource (`TopicArn`, or `TargetArn` for a publish to a target).
2. Batch actions. moto asks for the action named after the API call, so a batch call needs
   `sns:PublishBatch`, `sqs:SendMessageBatch`, `sqs:DeleteMessageBatch` or
   `sqs:ChangeMessageVisibilityBatch`: IAM has no such actions, and AWS authorises each batch
   call with its single form (`sns:Publish`, ...). Map them.

`--without sns-resource` / `--without batch-actions` leave a patch out: the tests use it to show
that each one is needed (without it, a correct grant is denied).
"""

from __future__ import annotations

import sys
from typing import Any

# AWS authorises these calls with the single form's action: IAM has no batch actions for them.
SINGLE_FORM_ACTIONS = {
    "sns:PublishBatch": "sns:Publish",
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
PATCHES = ("sns-resource", "batch-actions")


def patch_sns_resource() -> None:
    from moto.sns.responses import SNSResponse

    def _determine_resource(self: Any) -> str:
        for name in ("TopicArn", "TargetArn"):
            values = self.querystring.get(name)
            if values:
                return str(values[0])
        return "*"

    SNSResponse._determine_resource = _determine_resource  # type: ignore[attr-defined]


def patch_batch_actions() -> None:
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase.__init__

    def init_with_single_form_action(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._action = SINGLE_FORM_ACTIONS.get(self._action, self._action)

    IAMRequestBase.__init__ = init_with_single_form_action  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    without: set[str] = set()
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--without":
            name = next(args, "")
            if name not in PATCHES:
                raise SystemExit(f"--without takes one of {', '.join(PATCHES)}, not {name!r}")
            without.add(name)
        else:
            rest.append(arg)
    if "sns-resource" not in without:
        patch_sns_resource()
    if "batch-actions" not in without:
        patch_batch_actions()

    from moto.server import main as moto_main

    moto_main(rest)


if __name__ == "__main__":
    main(sys.argv[1:])

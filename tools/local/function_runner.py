"""Run a declared function (a Lambda function on AWS) on this machine, as SNS would invoke it.

The function is the `kind: function` entry of services.yaml of that name, joined with the
topology's subscriptions (`declared_topology`), as the Pulumi program reads it.

The emulator cannot run Lambda functions (that needs a Docker engine), so the bootstrap subscribes
a stand-in SQS queue to the function's topics with the function's filter policies and raw delivery
off (service/messaging/bootstrap.py). This runner long-polls that queue and, for each message:

1. turns SNS's envelope (the message body) into the event SNS hands Lambda:
   `{"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "EventSubscriptionArn",
   "Sns": {"Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp", ...}}]}`;
2. calls the function's handler with it and a Lambda-like context, in this process, with this
   process's environment (which carries the function's settings, e.g. OPERATOR_TOPIC_ARN);
3. deletes the message only if the handler returned. If it raised, the message comes back after
   `retry_delay_seconds` (Lambda waits minutes between its retries; locally seconds do), and after
   1 + `async_retries` attempts SQS moves it to the stand-in of the on-failure destination.

One invocation at a time, like a function with reserved concurrency 1.

Identities: the handler uses the process's own AWS credentials, which stand for the function's
role (on Lambda, the role's credentials are the function's environment). Reading the stand-in
queue is what Lambda's service does, not the function: with `LAMBDA_SERVICE_AWS_ACCESS_KEY_ID`,
`..._SECRET_ACCESS_KEY` and `..._SESSION_TOKEN` set, the runner reads it with those instead, so an
emulator enforcing IAM judges the handler by the function's role alone (tests/iam_behaviour).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from infra.service_declaration import DECLARATION_FILE, load_declaration
from service.core.config import Settings
from service.messaging.aws import sqs_client
from service.messaging.bootstrap import function_queue_env_var
from service.messaging.consumer import QueueConsumer, run_until_signalled
from service.messaging.topology import TOPOLOGY, Function, Topology

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LocalContext:
    """The attributes of Lambda's context object that handlers commonly read."""

    function_name: str
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 128
    function_version: str = "$LATEST"
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


class NotAnSnsNotificationError(ValueError):
    """The queue message is not an SNS notification envelope."""


def lambda_event(envelope_json: str) -> dict[str, Any]:
    """The SNS -> Lambda event for one SNS notification envelope (an SQS body, raw delivery off).

    The two shapes differ in details that handlers trip over: Lambda's record spells
    `SigningCertUrl` / `UnsubscribeUrl`, always has `Subject` (null when none) and
    `MessageAttributes` (empty when none).
    """
    try:
        envelope = json.loads(envelope_json)
    except json.JSONDecodeError as exc:
        raise NotAnSnsNotificationError(f"the body is not JSON: {exc}") from exc
    if not isinstance(envelope, dict) or envelope.get("Type") != "Notification":
        raise NotAnSnsNotificationError(
            "the body is not an SNS notification (is the subscription's raw delivery off?)"
        )
    missing = [k for k in ("MessageId", "TopicArn", "Message", "Timestamp") if k not in envelope]
    if missing:
        raise NotAnSnsNotificationError(f"the SNS envelope lacks {', '.join(missing)}")
    unsubscribe_url = envelope.get("UnsubscribeURL", "")
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": _subscription_arn(unsubscribe_url, envelope["TopicArn"]),
                "Sns": {
                    "Type": "Notification",
                    "MessageId": envelope["MessageId"],
                    "TopicArn": envelope["TopicArn"],
                    "Subject": envelope.get("Subject"),
                    "Message": envelope["Message"],
                    "Timestamp": envelope["Timestamp"],
                    "SignatureVersion": envelope.get("SignatureVersion", "1"),
                    "Signature": envelope.get("Signature", ""),
                    "SigningCertUrl": envelope.get("SigningCertURL", ""),
                    "UnsubscribeUrl": unsubscribe_url,
                    "MessageAttributes": envelope.get("MessageAttributes") or {},
                },
            }
        ]
    }


def load_handler(function: Function) -> Handler:
    module_name, _, attribute = function.entry_point.rpartition(".")
    module = importlib.import_module(f"{function.package}.{module_name}")
    handler: Handler = getattr(module, attribute)
    return handler


class FunctionRunner(QueueConsumer):
    """The stand-in queue's consumer (service/messaging/consumer.py): one message at a time, no
    visibility heartbeat (the queue's visibility timeout is the function's timeout)."""

    label = "function runner"

    def __init__(
        self,
        settings: Settings,
        function: Function,
        *,
        queue_url: str,
        handler: Handler | None = None,
        sqs: SQSClient | None = None,
        wait_seconds: int = 5,  # short: a stopping runner waits for its poll
        retry_delay_seconds: int = 2,
    ) -> None:
        super().__init__(
            sqs=sqs or sqs_client(settings),
            queue_url=queue_url,
            batch_size=1,
            wait_seconds=wait_seconds,
        )
        self.function = function
        self.handler = handler or load_handler(function)
        self.retry_delay_seconds = retry_delay_seconds

    def log_context(self) -> dict[str, object]:
        return {"function": self.function.key, "queue_url": self.queue_url}

    def handle_batch(self, messages: list[MessageTypeDef]) -> int:
        """Invoke the handler with each message; 1 per invocation that succeeded."""
        return sum(self._invoke(message) for message in messages)

    def _invoke(self, message: MessageTypeDef) -> bool:
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        context = LocalContext(self.function.key, self.function.timeout_seconds)
        where = self.log_context() | {
            "sqs_message_id": message["MessageId"],
            "attempt": attempt,
            "max_attempts": 1 + self.function.async_retries,
            "aws_request_id": context.aws_request_id,
        }
        try:
            event = lambda_event(message.get("Body", ""))
            where["sns_message_id"] = event["Records"][0]["Sns"]["MessageId"]
            self.handler(event, context)
        except Exception as exc:  # what Lambda does with any error of an async invocation
            last = attempt >= 1 + self.function.async_retries
            log.error(
                "invocation failed; "
                + ("it goes to the on-failure queue" if last else "it will be retried"),
                extra=where | {"error": f"{type(exc).__name__}: {exc}"},
            )
            self.set_visibility(message["ReceiptHandle"], self.retry_delay_seconds)
            return False
        self.delete([message])
        log.info("invocation succeeded", extra=where)
        return True


def declared_topology(path: Path | None = None) -> Topology:
    """The topology with services.yaml's functions (or those of the declaration at `path`)."""
    return load_declaration(TOPOLOGY, path or DECLARATION_FILE).with_functions(TOPOLOGY)


def run_function(settings: Settings, function_key: str, topology: Topology | None = None) -> int:
    """`python -m tools.local function NAME`: run until SIGTERM / Ctrl-C."""
    topology = topology or declared_topology()
    declared = {f.key for f in topology.functions}
    if function_key not in declared:
        log.error(
            f"{function_key!r} is not a declared function; services.yaml declares "
            f"{sorted(declared) or 'none'} (kind: function)"
        )
        return 2
    function = topology.function(function_key)
    queue_env = function_queue_env_var(function)
    queue_url = os.environ.get(queue_env)
    if not queue_url:
        log.error(
            f"{queue_env} is not set: run this under `make dev` (python -m tools.local dev), which "
            "creates the function's stand-in queue on the emulator and passes its URL"
        )
        return 2
    missing = [
        topology.topic(key).env_var
        for key in function.publishes
        if not os.environ.get(topology.topic(key).env_var)
    ]
    if missing:
        log.error(
            f"the function needs {', '.join(missing)} (its topics' ARNs); `make dev` sets them"
        )
        return 2
    runner = FunctionRunner(
        settings,
        function,
        queue_url=queue_url,
        sqs=sqs_client(settings, credentials=lambda_service_credentials()),
    )
    # Let the poll return and an invocation in progress finish (at most the function's timeout,
    # as Lambda would).
    ended = run_until_signalled(
        runner,
        name=f"{function.key}-runner",
        grace_seconds=runner.wait_seconds + function.timeout_seconds,
    )
    log.info("function runner exited", extra={"function": function.key, "loop": ended})
    return 0


LAMBDA_SERVICE_PREFIX = "LAMBDA_SERVICE_"


def lambda_service_credentials() -> dict[str, str] | None:
    """The stand-in queue reader's own credentials, if given (see the module's docstring)."""
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    values = {name.lower(): os.environ.get(LAMBDA_SERVICE_PREFIX + name) for name in names}
    if not values["aws_access_key_id"]:
        return None
    return {key: value for key, value in values.items() if value}


def _subscription_arn(unsubscribe_url: str, topic_arn: str) -> str:
    """SNS names the subscription in the envelope's UnsubscribeURL; Lambda records carry it."""
    arns = parse_qs(urlsplit(unsubscribe_url).query).get("SubscriptionArn")
    return arns[0] if arns else f"{topic_arn}:local"

"""The offline harness's public names: import them from here.

Runs the real program (`platform/__main__.py`, or the account bootstrap) in-process under Pulumi's
documented mocks; the one harness behind `make plan`, `make plan-diff` and the tests, so they
cannot disagree. Its building blocks, one module each:

- `tools.plan.fake_aws`: the fake AWS account, tables of answers per resource type and invoke;
- `tools.plan.stack_files`: `Pulumi.<stack>.yaml` read as the engine passes it, secrets stood in;
- `tools.plan.recording`: the mock engine that records each registration (`RecordedResource`);
- `tools.plan.evaluate`: the run itself, returning `EvaluatedStack` / `EvaluatedBootstrap`;
- `tools.plan.pulumi_internals`: the SDK names used beyond Pulumi's exported API, with reasons.
"""

from tools.plan.evaluate import (
    BOOTSTRAP_DIR,
    PROGRAM,
    EvaluatedBootstrap,
    EvaluatedStack,
    ProgramRun,
    evaluate_bootstrap,
    evaluate_stack,
    run_program,
    run_under_mocks,
)
from tools.plan.fake_aws import FakeAws
from tools.plan.fake_aws.account import (
    ACCOUNT_ID,
    AVAILABILITY_ZONE_IDS,
    CLOUDFRONT_ORIGIN_FACING_CIDRS,
    CLOUDFRONT_PREFIX_LIST_ID,
    MANAGED_POLICY_IDS,
)
from tools.plan.recording import RecordedResource, RecordingMonitor
from tools.plan.stack_files import OFFLINE_SECRETS, SECRET_KEYS, raw_stack_config, stack_file

__all__ = [
    "ACCOUNT_ID",
    "AVAILABILITY_ZONE_IDS",
    "BOOTSTRAP_DIR",
    "CLOUDFRONT_ORIGIN_FACING_CIDRS",
    "CLOUDFRONT_PREFIX_LIST_ID",
    "MANAGED_POLICY_IDS",
    "OFFLINE_SECRETS",
    "PROGRAM",
    "SECRET_KEYS",
    "EvaluatedBootstrap",
    "EvaluatedStack",
    "FakeAws",
    "ProgramRun",
    "RecordedResource",
    "RecordingMonitor",
    "evaluate_bootstrap",
    "evaluate_stack",
    "raw_stack_config",
    "run_program",
    "run_under_mocks",
    "stack_file",
]

"""A run under the mocks, on a small program: what is recorded, exported and handed back."""

from __future__ import annotations

import asyncio

import pulumi
import pulumi_aws as aws

from tools.plan.offline import run_under_mocks


def test_a_run_records_each_registration_and_the_exports_with_secrets_unwrapped() -> None:
    def program() -> None:
        box = pulumi.ComponentResource("test:index:Box", "box")
        key = aws.kms.Key(
            "key",
            description=pulumi.Output.secret("hidden"),
            opts=pulumi.ResourceOptions(parent=box, protect=True),
        )
        aws.kms.Alias("alias", target_key_id=key.key_id, name="alias/box")
        pulumi.export("key_arn", key.arn)
        pulumi.export("token", pulumi.Output.secret("s3cret"))

    run = run_under_mocks(program, stack="unit")

    assert run.error is None
    by_type = {r.type: r for r in run.resources}
    box, key, alias = (
        by_type["test:index:Box"],
        by_type["aws:kms/key:Key"],
        by_type["aws:kms/alias:Alias"],
    )
    assert (key.parent, key.protect, key.custom) == (box.urn, True, True)
    assert not box.custom
    assert key.inputs["description"] == "hidden", "secrets are recorded as values"
    assert alias.inputs["targetKeyId"] == key.state["keyId"]
    assert key.urn in alias.dependencies
    assert run.outputs == {"key_arn": key.state["arn"], "token": "s3cret"}


def test_a_failing_program_s_error_is_handed_back_not_raised() -> None:
    def program() -> None:
        aws.rds.get_engine_version(engine="postgres")  # no answer in the fake AWS

    run = run_under_mocks(program, stack="unit")

    assert run.error is not None
    assert "aws:rds/getEngineVersion:getEngineVersion" in str(run.error)
    assert run.invokes == ["aws:rds/getEngineVersion:getEngineVersion"]


def test_each_run_starts_from_a_fresh_stack() -> None:
    first = run_under_mocks(lambda: aws.sqs.Queue("one"), stack="first")
    second = run_under_mocks(lambda: aws.sqs.Queue("two"), stack="second")
    assert [r.name for r in second.resources if r.custom] == ["two"]
    assert all(r.urn.startswith("urn:pulumi:second::") for r in second.resources)
    assert first.resources[0].urn.startswith("urn:pulumi:first::")


def test_an_evaluation_after_asyncio_run_in_the_same_thread_still_runs() -> None:
    """asyncio.run() leaves the thread without a current loop; Pulumi's SDK needs one."""

    async def nothing() -> None:
        return None

    asyncio.run(nothing())
    run = run_under_mocks(lambda: pulumi.export("answer", 42), stack="loop")
    assert run.error is None
    assert run.outputs == {"answer": 42}

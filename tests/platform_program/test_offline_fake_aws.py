"""The fake AWS's tables: the documented default, rows over module answers, unknown invokes.

Called directly with Pulumi's own argument types, without running a program: what the whole
stacks get from these answers is covered by every other test in this folder.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from tools.plan.fake_aws import FakeAws, resources
from tools.plan.fake_aws.account import ACCOUNT_ID, MANAGED_POLICY_IDS, short_hash
from tools.plan.fake_aws.invokes import INVOKES
from tools.plan.fake_aws.resources import Answer

REGION = "eu-west-1"


def register(
    rtype: str, logical_name: str, /, *, stack: str = "dev", **inputs: Any
) -> tuple[str, dict[str, Any]]:
    args = pulumi.runtime.MockResourceArgs(typ=rtype, name=logical_name, inputs=inputs)
    return FakeAws(stack, REGION).new_resource(args)


def test_a_type_without_a_row_gets_the_documented_default() -> None:
    resource_id, state = register(
        "aws:appautoscaling/target:Target", "scale", minCapacity=1, tags={"team": "a"}
    )
    h = short_hash("dev", "aws:appautoscaling/target:Target", "scale")
    assert resource_id == f"scale-{h}"
    assert state["arn"] == f"arn:aws:appautoscaling:{REGION}:{ACCOUNT_ID}:target/scale-{h[:7]}"
    assert state["id"] == resource_id
    assert state["minCapacity"] == 1, "inputs are echoed back as outputs"
    assert state["tagsAll"] == {"team": "a"}
    assert "name" not in state, "only types with a named(...) row report a name"


def test_the_physical_name_is_the_name_else_the_prefix_and_a_hash() -> None:
    _, given = register("aws:ecs/capacityProvider:CapacityProvider", "cp", name="exact")
    _, prefixed = register("aws:ecs/capacityProvider:CapacityProvider", "cp", namePrefix="cp-")
    assert given["name"] == "exact"
    assert given["arn"].endswith(":capacityprovider/exact")
    h = short_hash("dev", "aws:ecs/capacityProvider:CapacityProvider", "cp")
    assert prefixed["name"] == f"cp-{h}", "AWS completes a prefix; the program may read the name"


def test_an_input_named_like_an_output_is_kept() -> None:
    _, state = register("aws:ec2/thing:Thing", "t", arn="arn:given", id="given")
    assert (state["arn"], state["id"]) == ("arn:given", "given")


def test_a_row_wins_over_its_module_and_the_module_over_the_default() -> None:
    vpc_id, _ = register("aws:ec2/vpc:Vpc", "net")
    subnet_id, subnet = register("aws:ec2/subnet:Subnet", "net-a")
    other_id, _ = register("aws:ec2/somethingNew:SomethingNew", "x")
    assert vpc_id.startswith("vpc-")
    assert subnet_id.startswith("subnet-")
    assert subnet["arn"] == f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:subnet/{subnet_id}"
    assert other_id.startswith("r-"), "an EC2 type without an id prefix of its own"
    assert resources.answer_for("aws:ec2/subnet:Subnet") is resources.ec2_resource
    assert resources.answer_for("aws:appautoscaling/target:Target") is resources.default


def test_answers_are_shaped_like_aws_s() -> None:
    queue_url, queue = register("aws:sqs/queue:Queue", "orders", name="shop-orders.fifo")
    assert queue_url == f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/shop-orders.fifo"
    assert queue["arn"] == f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:shop-orders.fifo"
    role_name, role = register("aws:iam/role:Role", "api", name="shop-api")
    assert role_name == "shop-api"
    assert role["arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/shop-api", "IAM ARNs have no region"
    _, image = register("docker:index/image:Image", "img", imageName="repo/app:v1")
    _, again = register("docker:index/image:Image", "img", imageName="repo/app:v2")
    assert image["repoDigest"].startswith("repo/app@sha256:")
    assert image["repoDigest"] != again["repoDigest"], "a new tag is a new digest"


def test_ids_are_stable_per_stack_and_differ_between_stacks() -> None:
    assert register("aws:kms/key:Key", "k") == register("aws:kms/key:Key", "k")
    assert register("aws:kms/key:Key", "k")[0] != register("aws:kms/key:Key", "k", stack="prod")[0]


def test_adding_a_type_is_one_row(monkeypatch: pytest.MonkeyPatch) -> None:
    rtype = "aws:example/widget:Widget"
    assert register(rtype, "w")[0] != "widget-1"
    monkeypatch.setitem(
        resources.RESOURCES, rtype, resources.named(lambda r: Answer(id="widget-1", state={"x": 1}))
    )
    resource_id, state = register(rtype, "w", namePrefix="w-")
    assert (resource_id, state["id"], state["x"]) == ("widget-1", "widget-1", 1)
    assert state["name"].startswith("w-")


def test_invokes_are_answered_from_the_table_and_recorded_in_order() -> None:
    aws = FakeAws("dev", REGION)
    zones, _ = aws.call(
        pulumi.runtime.MockCallArgs(
            "aws:index/getAvailabilityZones:getAvailabilityZones",
            {"excludeZoneIds": ["use1-az3"]},
            "",
        )
    )
    identity, _ = aws.call(
        pulumi.runtime.MockCallArgs("aws:index/getCallerIdentity:getCallerIdentity", {}, "")
    )
    assert "use1-az3" not in zones["zoneIds"]
    assert len(zones["names"]) == 5
    assert identity["accountId"] == ACCOUNT_ID
    assert aws.invokes == [
        "aws:index/getAvailabilityZones:getAvailabilityZones",
        "aws:index/getCallerIdentity:getCallerIdentity",
    ]


def test_an_invoke_without_a_row_is_refused_naming_it_and_the_table() -> None:
    aws = FakeAws("dev", REGION)
    token = "aws:rds/getEngineVersion:getEngineVersion"
    with pytest.raises(NotImplementedError, match=f"{token}; add a row to INVOKES"):
        aws.call(pulumi.runtime.MockCallArgs(token, {}, ""))
    assert aws.invokes == [token], "recorded even when refused, as the program made it"


def test_a_managed_policy_lookup_refuses_a_name_aws_does_not_have() -> None:
    lookup = "aws:cloudfront/getCachePolicy:getCachePolicy"
    aws = FakeAws("dev", REGION)
    found, _ = aws.call(
        pulumi.runtime.MockCallArgs(lookup, {"name": "Managed-CachingDisabled"}, "")
    )
    assert found["id"] == MANAGED_POLICY_IDS["Managed-CachingDisabled"]
    with pytest.raises(KeyError, match="Managed-CachingDisabledd"):
        aws.call(pulumi.runtime.MockCallArgs(lookup, {"name": "Managed-CachingDisabledd"}, ""))


def test_every_row_names_a_type_token() -> None:
    """`package:module/member:Type`: a row with a mistyped token would never be used."""
    for rtype in resources.RESOURCES:
        _package, module, member = rtype.split(":")
        assert "/" in module, rtype
        assert member[:1].isupper(), rtype
        assert module.split("/")[1].lower() == member.lower(), rtype
    for token in INVOKES:
        _package, module, function = token.split(":")
        assert module.split("/")[1] == function, token

"""`make plan` / `make plan-diff`: the offline plan printer over the same harness."""

from __future__ import annotations

import pytest

from tools.plan.cli import main


def test_plan_prints_the_tree_with_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["staging"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# offline plan of stack 'staging'")
    assert "shipyard-staging (pulumi:pulumi:Stack)" in out
    assert "├─ shipyard:network:Network network" in out
    assert "aws:ecs/service:Service services-api" in out
    assert "deploymentMinimumHealthyPercent=100" in out
    assert "url = https://" in out


def test_plan_diff_shows_what_differs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--diff", "staging", "prod"]) == 0
    out = capsys.readouterr().out
    # both stacks deploy blue/green (staging rehearses prod's strategy); the bake differs
    assert "blue_green_bake_minutes: 2 -> 10" in out
    assert "deployment_strategy" not in out
    assert "aws:rds/instance:Instance database-postgres: multiAz: false -> true" in out
    assert "deploymentConfiguration.bakeTimeInMinutes: 2 -> 10" in out
    assert "+ aws:ec2/natGateway:NatGateway network-nat-2" in out
    # identical things are not listed, and the stack's own name is neutralised
    assert "healthCheck.path" not in out
    assert "shipyard-staging" not in out.split("## resources only")[1]


def test_unknown_stack_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nosuchstack"]) == 2
    assert "Pulumi.nosuchstack.yaml" in capsys.readouterr().err

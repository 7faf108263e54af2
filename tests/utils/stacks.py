"""Both stacks evaluated under Pulumi's mocks once per test session, whichever folder asks first
(tests/platform_program reads their resources; tests/iam_behaviour runs processes with the IAM
they grant)."""

from __future__ import annotations

from functools import cache

from tools.plan.offline import EvaluatedStack, evaluate_stack

# What CI hands prod: the digest staging ran, from the bootstrap's shared repository.
STAGING_DIGEST = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shipyard@sha256:" + "ab" * 32


@cache
def evaluated(stack: str) -> EvaluatedStack:
    if stack == "prod":
        return evaluate_stack("prod", {"shipyard:image_ref": STAGING_DIGEST})
    return evaluate_stack(stack)

"""Application secrets in Secrets Manager, injected into containers by ECS (never in plain env).

Named `app_secrets` on purpose: a module called `secrets` would shadow the standard library's.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config import PROJECT, StackConfig


@dataclass(frozen=True)
class AppSecretsArgs:
    config: StackConfig


class AppSecrets(pulumi.ComponentResource):
    jwt_secret_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: AppSecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{PROJECT}:secrets:AppSecrets", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        jwt = aws.secretsmanager.Secret(
            f"{name}-jwt",
            name_prefix=f"{config.prefix}/jwt-secret-",
            description="JWT signing key of the shipyard API (from the Pulumi secret jwt_secret)",
            recovery_window_in_days=7,
            opts=child,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-jwt",
            secret_id=jwt.id,
            # The value stays encrypted in Pulumi's state and never appears in a task definition.
            secret_string=pulumi.Output.secret(config.jwt_secret),
            opts=child,
        )
        self.jwt_secret_arn = jwt.arn
        self.register_outputs({"jwt_secret_arn": self.jwt_secret_arn})

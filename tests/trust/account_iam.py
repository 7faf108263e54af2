"""An account's IAM as AWS would hold it after the bootstrap: each CI role with its trust policy,
inline and attached policies and permissions boundary, read from the evaluated bootstrap (the
real program under Pulumi's mocks) or from a recorded copy (the control fixture of the design
before issue 22). AWS-managed policies (ReadOnlyAccess, PowerUserAccess, ...) are AWS's own
documents as moto ships them (`moto/iam/aws_managed_policies.py`, generated from IAM).

`can` decides a request with `scripts.trust.policy_evaluation.evaluate_identity`: explicit denies
anywhere win, an allow is needed from an identity policy (or the resource's policy), and the
permissions boundary caps it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from moto.iam.aws_managed_policies import aws_managed_policies_data

from scripts.trust.check import CiRole, accepts
from scripts.trust.policy_evaluation import Decision, Request, evaluate_identity
from tools.plan.offline import ACCOUNT_ID, EvaluatedBootstrap, EvaluatedStack, evaluate_stack

FIXTURES = Path(__file__).parent / "fixtures"
# The CI roles, policies and state backend of the design before issue 22, recorded from the
# bootstrap at commit 1e87520 (record_account_iam below): the control every proof runs against.
BEFORE_ISSUE_22 = FIXTURES / "ci_iam_before_issue22.json"
AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy"


@cache
def aws_managed_policy(arn: str) -> dict[str, Any]:
    name = arn.rsplit("/", 1)[1]
    policies = json.loads(aws_managed_policies_data)
    if name not in policies:
        raise KeyError(f"{arn} is not an AWS-managed policy moto knows")
    document: dict[str, Any] = policies[name]["Document"]
    return document


@dataclass(frozen=True)
class Role:
    name: str
    arn: str
    trust: dict[str, Any]
    inline: tuple[dict[str, Any], ...]
    attached: tuple[str, ...]  # managed policy ARNs
    boundary: str | None  # policy ARN

    def identity_policies(self, customer_policies: Mapping[str, dict[str, Any]]) -> list[dict]:
        return [*self.inline, *(_policy(arn, customer_policies) for arn in self.attached)]


def _policy(arn: str, customer_policies: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    if arn.startswith(AWS_MANAGED_PREFIX):
        return aws_managed_policy(arn)
    return customer_policies[arn]


@dataclass(frozen=True)
class AccountIam:
    account_id: str
    region: str
    roles: tuple[Role, ...]
    customer_policies: dict[str, dict[str, Any]]  # ARN -> document (boundaries)
    state_bucket_arn: str
    state_bucket_policy: dict[str, Any]
    key_arns: dict[str, str] = field(default_factory=dict)  # alias name -> key ARN
    # app stack -> the alias its secrets provider (`secretsprovider: awskms://<alias>`) names
    stack_secrets_aliases: dict[str, str] = field(default_factory=dict)

    def role(self, name: str) -> Role:
        (found,) = [r for r in self.roles if r.name == name]
        return found

    def roles_assumable_by(self, subject: str) -> list[Role]:
        """Every role whose trust policy admits this GitHub OIDC subject (AWS's semantics)."""
        return [
            role
            for role in self.roles
            if accepts(CiRole(arn=role.arn, trust=role.trust, max_session_seconds=3600), subject)
        ]

    def key(self, alias: str) -> str:
        return self.key_arns[alias]

    def secrets_key_of(self, stack: str) -> str:
        """The KMS key that encrypts `stack`'s Pulumi secrets."""
        return self.key(self.stack_secrets_aliases[stack])

    def can(
        self,
        role: Role,
        action: str,
        resource: str,
        context: Mapping[str, Any] | None = None,
        *,
        boundary_arn: str | None = None,
    ) -> Decision:
        """May a session of `role` do `action` on `resource`? `boundary_arn` overrides the role's
        boundary (a role the deploy role creates carries the workload boundary)."""
        boundary = boundary_arn or role.boundary
        resource_policy = (
            self.state_bucket_policy if resource.startswith(self.state_bucket_arn) else None
        )
        request = Request(
            action=action,
            principal={"AWS": role.arn},
            # Every call arrives over TLS (the SDKs and the CLI use HTTPS only).
            context={
                "aws:PrincipalArn": role.arn,
                "aws:SecureTransport": "true",
                **(context or {}),
            },
            resource=resource,
        )
        return evaluate_identity(
            role.identity_policies(self.customer_policies),
            request,
            boundary=_policy(boundary, self.customer_policies) if boundary else None,
            resource_policy=resource_policy,
        )


def from_bootstrap(bootstrap: EvaluatedBootstrap) -> AccountIam:
    """The account's IAM as the bootstrap program declares it."""
    policies = {
        p.state["arn"]: json.loads(p.inputs["policy"])
        for p in bootstrap.of_type("aws:iam/policy:Policy")
    }
    inline: dict[str, list[dict[str, Any]]] = {}
    for p in bootstrap.of_type("aws:iam/rolePolicy:RolePolicy"):
        inline.setdefault(p.inputs["role"], []).append(json.loads(p.inputs["policy"]))
    attached: dict[str, list[str]] = {}
    for a in bootstrap.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        attached.setdefault(a.inputs["role"], []).append(a.inputs["policyArn"])
    roles = []
    for r in bootstrap.of_type("aws:iam/role:Role"):
        name = r.inputs["name"]
        # The mock's role id is its name: inline policies name the role by id, attachments by name.
        roles.append(
            Role(
                name=name,
                arn=r.state["arn"],
                trust=json.loads(r.inputs["assumeRolePolicy"]),
                inline=tuple(inline.get(name, [])),
                attached=tuple(attached.get(name, [])),
                boundary=r.inputs.get("permissionsBoundary"),
            )
        )
    (bucket,) = bootstrap.of_type("aws:s3/bucket:Bucket")
    (bucket_policy,) = bootstrap.of_type("aws:s3/bucketPolicy:BucketPolicy")
    keys = {k.state["id"]: k.state["arn"] for k in bootstrap.of_type("aws:kms/key:Key")}
    key_arns = {
        a.inputs["name"]: next(arn for arn in keys.values() if a.inputs["targetKeyId"] in arn)
        for a in bootstrap.of_type("aws:kms/alias:Alias")
    }
    providers = bootstrap.outputs["secrets_providers"]
    return AccountIam(
        account_id=str(bootstrap.outputs["account_id"]),
        region=str(bootstrap.outputs["region"]),
        roles=tuple(roles),
        customer_policies=policies,
        state_bucket_arn=bucket.state["arn"],
        state_bucket_policy=json.loads(bucket_policy.inputs["policy"]),
        key_arns=key_arns,
        stack_secrets_aliases={
            stack: url.removeprefix("awskms://").split("?")[0] for stack, url in providers.items()
        },
    )


def record_account_iam(account: AccountIam, path: Path, recorded_from: str) -> None:
    """Write the account's IAM as a fixture (how BEFORE_ISSUE_22 was made)."""
    data = {
        "recorded_from": recorded_from,
        "account_id": account.account_id,
        "region": account.region,
        "roles": [
            {
                "name": r.name,
                "arn": r.arn,
                "trust": r.trust,
                "inline": list(r.inline),
                "attached": list(r.attached),
                "boundary": r.boundary,
            }
            for r in account.roles
        ],
        "customer_policies": account.customer_policies,
        "state_bucket_arn": account.state_bucket_arn,
        "state_bucket_policy": account.state_bucket_policy,
        "key_arns": account.key_arns,
        "stack_secrets_aliases": account.stack_secrets_aliases,
    }
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def load_account_iam(path: Path) -> AccountIam:
    data = json.loads(path.read_text(encoding="utf-8"))
    return AccountIam(
        account_id=data["account_id"],
        region=data["region"],
        roles=tuple(
            Role(
                name=r["name"],
                arn=r["arn"],
                trust=r["trust"],
                inline=tuple(r["inline"]),
                attached=tuple(r["attached"]),
                boundary=r["boundary"],
            )
            for r in data["roles"]
        ),
        customer_policies=data["customer_policies"],
        state_bucket_arn=data["state_bucket_arn"],
        state_bucket_policy=data["state_bucket_policy"],
        key_arns=data["key_arns"],
        stack_secrets_aliases=data["stack_secrets_aliases"],
    )


def names(roles: Sequence[Role]) -> list[str]:
    return sorted(r.name for r in roles)


@cache
def app_stack(stack: str, **settings: str) -> EvaluatedStack:
    """The app program evaluated once per stack and settings (shared by the modules here)."""
    return evaluate_stack(stack, {f"shipyard:{k}": v for k, v in settings.items()})


def app_secret_arn(stack: str) -> str:
    """The stack's Secrets Manager secret as AWS names it: `<name prefix><random>-<6 chars>`."""
    (secret,) = app_stack(stack).of_type("aws:secretsmanager/secret:Secret")
    name = f"{secret.inputs['namePrefix']}20261207183200000000000001-AbC123"
    return f"arn:aws:secretsmanager:us-east-1:{ACCOUNT_ID}:secret:{name}"

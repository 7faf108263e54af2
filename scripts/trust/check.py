"""The proof: each job's token is accepted by exactly the role the job uses, for long enough.

Inputs are the workflows' assumptions (`github_oidc`) with the subjects GitHub issues in the
repository's own form (its `sub_claim_prefix`, legacy or immutable), the variables it holds
(`scripts.github_setup.wiring`) and the CI roles as the bootstrap program declares them (their
trust policies, evaluated by `policy_evaluation` with AWS's semantics). Every failure message
names the job, the subject GitHub would issue, the role and what the role trusts, so a mismatch
says which side to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scripts.github_setup.wiring import Wiring
from scripts.trust.github_oidc import Assumption, VarRef
from scripts.trust.policy_evaluation import Request, evaluate

OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
DEFAULT_DURATION_SECONDS = 3600  # configure-aws-credentials' default for role-duration-seconds


@dataclass(frozen=True)
class CiRole:
    arn: str
    trust: Mapping[str, Any]  # the trust policy document
    max_session_seconds: int

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    def trusted_subjects(self) -> list[str]:
        found: list[str] = []
        for statement in self.trust.get("Statement", []):
            for keys in (statement.get("Condition") or {}).values():
                value = keys.get(f"{OIDC_HOST}:sub")
                if value is not None:
                    found += value if isinstance(value, list) else [value]
        return found


def accepts(role: CiRole, subject: str) -> bool:
    provider = f"arn:aws:iam::{role.account}:oidc-provider/{OIDC_HOST}"
    request = Request(
        action="sts:AssumeRoleWithWebIdentity",
        principal={"Federated": provider},
        context={f"{OIDC_HOST}:sub": subject, f"{OIDC_HOST}:aud": AUDIENCE},
    )
    return evaluate(role.trust, request).allowed


def roles_accepting(roles: Iterable[CiRole], subject: str) -> list[str]:
    return [role.arn for role in roles if accepts(role, subject)]


def trust_failures(
    assumptions: Iterable[Assumption],
    *,
    sub_claim_prefix: str,
    wiring: Wiring,
    roles: Sequence[CiRole],
) -> list[str]:
    by_arn = {role.arn: role for role in roles}
    failures: list[str] = []
    for job in assumptions:
        where = job.describe()
        subject = job.subject(sub_claim_prefix)
        if subject is None:
            if not job.event.from_fork:
                failures.append(f"{where}: no OIDC token (the job lacks `id-token: write`)")
            continue  # a fork's run gets no token: nothing to assume
        if not isinstance(job.role, VarRef):
            failures.append(f"{where}: role-to-assume is {job.role!r}, not a variable set by setup")
            continue
        variables = wiring.variables_for(job.environment)
        arn = variables.get(job.role.name)
        if arn is None:
            scope = f"environment {job.environment}" if job.environment else "the repository"
            failures.append(
                f"{where}: reads vars.{job.role.name}, which scripts.github_setup does not set "
                f"for {scope}"
            )
            continue
        role = by_arn.get(arn)
        if role is None:
            failures.append(f"{where}: vars.{job.role.name}={arn} is no role of the bootstrap")
            continue
        if not accepts(role, subject):
            failures.append(
                f"{where}: GitHub issues sub={subject!r}, but {arn} (bootstrap program) trusts "
                f"only {role.trusted_subjects()}"
            )
        others = [a for a in roles_accepting(roles, subject) if a != arn]
        if others:
            failures.append(f"{where}: sub={subject!r} could also assume {others}")
        timeout = job.timeout_minutes * 60
        duration = job.duration_seconds or DEFAULT_DURATION_SECONDS
        if duration < timeout:
            failures.append(
                f"{where}: credentials last {duration} s (role-duration-seconds) but the job may "
                f"run {timeout} s (timeout-minutes)"
            )
        if duration > role.max_session_seconds:
            failures.append(
                f"{where}: asks for {duration} s but {arn} allows at most "
                f"{role.max_session_seconds} s (MaxSessionDuration): STS refuses"
            )
    return failures

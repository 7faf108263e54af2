"""What a repository must hold for the workflows to run, derived from the bootstrap's outputs.

One place for each fact the workflows read: which variable, at which level (repository or
GitHub environment), from which bootstrap output. tests/delivery/test_github_setup.py checks
every `vars.X` the workflows read against this, and the required checks against the names the
workflows actually report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scripts.deploy.errors import DeployError
from scripts.deploy.stacks import stack_key  # the workflows read the same suffix

# The environment of deploy.yml's `image` job; the image-push role trusts only it.
RELEASE_ENVIRONMENT = "release"
MAIN_BRANCH = "main"
# Checks the ruleset requires: names that appear for pull_request and merge_group alike.
# `previews` is the non-matrix aggregate of the per-stack previews (pull-request.yml).
REQUIRED_CHECKS = ("checks / lint and type check", "checks / test", "previews")
# Every third-party action the workflows use comes from these owners (tests keep it true).
ALLOWED_ACTION_PATTERNS = ("aws-actions/*", "docker/*", "pulumi/*")


@dataclass(frozen=True)
class Environment:
    name: str
    variables: dict[str, str]
    reviewers: tuple[str, ...] = ()  # "user:LOGIN" or "team:ORG/SLUG"
    branches: tuple[str, ...] = (MAIN_BRANCH,)  # deployment branches allowed to use it
    approval: bool = False  # an approval environment (production): reviewers, where possible


@dataclass(frozen=True)
class Wiring:
    repository: str
    variables: dict[str, str]  # repository-level
    environments: list[Environment] = field(default_factory=list)
    required_checks: tuple[str, ...] = REQUIRED_CHECKS
    stacks: tuple[str, ...] = ()  # the app stacks deployed (each needs its destructive label)

    def variables_for(self, environment: str | None) -> dict[str, str]:
        """What `vars` holds in a job: repository variables, overridden by its environment's."""
        merged = dict(self.variables)
        for env in self.environments:
            if env.name == environment:
                merged.update(env.variables)
        return merged


def placeholder_outputs() -> list[dict[str, Any]]:
    """A one-account bootstrap's outputs as named placeholders (a dry run before bootstrapping)."""

    def out(name: str) -> str:
        return f"<bootstrap output {name}>"

    return [
        {
            "region": out("region"),
            "state_backend_url": out("state_backend_url"),
            "preview_role_arn": out("preview_role_arn"),
            "plan_role_arn": out("plan_role_arn"),
            "image_push_role_arn": out("image_push_role_arn"),
            "image_repository_url": out("image_repository_url"),
            "deploy_targets": {
                "staging": {"stack": "staging", "deploy_role_arn": out("deploy_targets.staging")},
                "production": {
                    "stack": "prod",
                    "deploy_role_arn": out("deploy_targets.production"),
                },
            },
        }
    ]


def build_wiring(
    repository: str,
    bootstrap_outputs: Sequence[Mapping[str, Any]],
    *,
    reviewers: Sequence[str] = (),
    approval_environments: Sequence[str] = ("production",),
    reviewers_possible: bool = True,
) -> Wiring:
    """The repository's wiring from one bootstrap's outputs per AWS account."""
    if not bootstrap_outputs:
        raise DeployError("no bootstrap outputs: pass --bootstrap-outputs once per AWS account")
    regions = {str(o.get("region")) for o in bootstrap_outputs}
    if len(regions) != 1:
        raise DeployError(f"the bootstraps are in several regions ({sorted(regions)}); use one")
    registries = [o for o in bootstrap_outputs if o.get("image_push_role_arn")]
    if len(registries) != 1:
        raise DeployError(
            f"{len(registries)} bootstraps hold the image repository; exactly one must "
            "(image_repository on one, image_repository_arn on the others)"
        )
    # The bootstraps' region: the image repository's, for deploy.yml's image job. Each app stack's
    # jobs take their region from its stack file instead (stacks.yaml's reader, `aws:region`).
    variables = {"AWS_REGION": regions.pop()}
    environments: list[Environment] = []
    seen: dict[str, str] = {}
    for outputs in bootstrap_outputs:
        for environment, target in (outputs.get("deploy_targets") or {}).items():
            stack = str(target["stack"])
            if environment in seen:
                raise DeployError(f"environment {environment} is deployed by two bootstraps")
            seen[environment] = stack
            key = stack_key(stack)
            # Pull requests preview only the stacks in the bootstrap's `preview_stacks`: an
            # account without any (a prod account of its own) has no preview role (issue 22).
            preview_stacks = outputs.get("preview_stacks")
            if outputs.get("preview_role_arn") and (
                preview_stacks is None or stack in preview_stacks
            ):
                variables[f"AWS_PREVIEW_ROLE_ARN_{key}"] = str(outputs["preview_role_arn"])
            # The plan role (merge-queue previews, drift, rollback's lookup); bootstraps from
            # before it existed have no such output, and their workflows read no such variable.
            if outputs.get("plan_role_arn"):
                variables[f"AWS_PLAN_ROLE_ARN_{key}"] = str(outputs["plan_role_arn"])
            variables[f"PULUMI_BACKEND_URL_{key}"] = str(outputs["state_backend_url"])
            environments.append(
                Environment(
                    name=environment,
                    variables={"AWS_DEPLOY_ROLE_ARN": str(target["deploy_role_arn"])},
                    reviewers=tuple(reviewers) if environment in approval_environments else (),
                    approval=environment in approval_environments,
                )
            )
    missing = [e for e in approval_environments if e not in seen]
    if missing:
        raise DeployError(f"no bootstrap deploys the approval environment(s) {missing}")
    # Where the plan has no environment reviewers, the set-up reports the gap instead.
    if reviewers_possible and any(e in approval_environments for e in seen) and not reviewers:
        raise DeployError(
            f"{', '.join(approval_environments)} need required reviewers: pass --reviewer "
            "user:LOGIN or team:ORG/SLUG (an approval nobody can give would block every release)"
        )
    (registry,) = registries
    environments.insert(
        0,
        Environment(
            name=RELEASE_ENVIRONMENT,
            variables={
                "AWS_IMAGE_PUSH_ROLE_ARN": str(registry["image_push_role_arn"]),
                "IMAGE_REPOSITORY_URL": str(registry["image_repository_url"]),
            },
        ),
    )
    return Wiring(
        repository=repository,
        variables=variables,
        environments=environments,
        stacks=tuple(seen.values()),
    )

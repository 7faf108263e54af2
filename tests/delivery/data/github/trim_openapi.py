"""Writes openapi_operations.json: the operations scripts.github_setup calls, trimmed from GitHub's
published REST description, with every component they reference (nothing else).

Source: the npm package `@octokit/openapi` (GitHub's own description from
github/rest-api-description plus Octokit's `x-octokit` extension), file
`generated/api.github.com.json`. To refresh it:

    cd "$(mktemp -d)" && npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz
    python tests/delivery/data/github/trim_openapi.py package/generated/api.github.com.json

tests/delivery/test_github_setup.py validates every request body github_setup sends, and the
recorded answers it reads, against the result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/openapi"
VERSION = "23.0.2"
# (method, path template): every call github_setup makes. The test fails on a call not listed.
OPERATIONS = [
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/actions/oidc/customization/sub"),
    ("get", "/orgs/{org}"),
    ("get", "/users/{username}"),
    ("get", "/orgs/{org}/teams/{team_slug}"),
    ("put", "/repos/{owner}/{repo}/actions/permissions/workflow"),
    ("put", "/repos/{owner}/{repo}/actions/permissions"),
    ("put", "/repos/{owner}/{repo}/actions/permissions/selected-actions"),
    ("put", "/repos/{owner}/{repo}/environments/{environment_name}"),
    ("post", "/repos/{owner}/{repo}/environments/{environment_name}/deployment-branch-policies"),
    ("post", "/repos/{owner}/{repo}/environments/{environment_name}/variables"),
    ("get", "/repos/{owner}/{repo}/environments/{environment_name}/variables/{name}"),
    ("patch", "/repos/{owner}/{repo}/environments/{environment_name}/variables/{name}"),
    ("post", "/repos/{owner}/{repo}/actions/variables"),
    ("get", "/repos/{owner}/{repo}/actions/variables/{name}"),
    ("patch", "/repos/{owner}/{repo}/actions/variables/{name}"),
    ("get", "/repos/{owner}/{repo}/rulesets"),
    ("post", "/repos/{owner}/{repo}/rulesets"),
    ("put", "/repos/{owner}/{repo}/rulesets/{ruleset_id}"),
    ("get", "/repos/{owner}/{repo}/labels/{name}"),
    ("post", "/repos/{owner}/{repo}/labels"),
]


def _references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            found |= _references(value)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value)
    return found


def trim(description: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path in OPERATIONS:
        operation = dict(description["paths"][path][method])
        for response in operation.get("responses", {}).values():
            for content in (response.get("content") or {}).values():
                content.pop("examples", None)  # examples are not checked; keep the file small
        operation.pop("x-github", None)
        paths.setdefault(path, {})[method] = operation
    components: dict[str, dict[str, Any]] = {}
    pending = _references(paths)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        value = description["components"][kind][name]
        components.setdefault(kind, {})[name] = value
        pending |= _references(value)
    return {
        "x-source": (
            f"npm package {PACKAGE}@{VERSION}, generated/api.github.com.json (GitHub's REST API "
            "description, github/rest-api-description); trimmed to the operations "
            "scripts.github_setup calls by tests/delivery/data/github/trim_openapi.py"
        ),
        "openapi": description["openapi"],
        "info": {"title": description["info"]["title"], "version": description["info"]["version"]},
        "paths": paths,
        "components": {kind: dict(sorted(v.items())) for kind, v in sorted(components.items())},
    }


def main(source: str) -> None:
    description = json.loads(Path(source).read_text(encoding="utf-8"))
    if description["info"]["version"] != VERSION:
        raise SystemExit(f"{source} is version {description['info']['version']}, not {VERSION}")
    target = Path(__file__).with_name("openapi_operations.json")
    target.write_text(json.dumps(trim(description), indent=1, sort_keys=False) + "\n")
    print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])

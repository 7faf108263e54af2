"""GitHub wiring as code: environments, variables, the branch ruleset and Actions settings.

    python -m scripts.github_setup --repo OWNER/NAME --bootstrap-outputs bootstrap.json \\
        --reviewer alice --dry-run

`wiring.py` declares what the workflows need (derived from the bootstrap's outputs);
`github_api.py` applies it through GitHub's REST API, or prints every call with --dry-run.
"""

"""GitHub wiring as code: environments, variables, labels, rulesets and Actions settings.

    python -m scripts.github_setup --repo OWNER/NAME          # what GitHub says: plan, sub prefix
    python -m scripts.github_setup --repo OWNER/NAME --bootstrap-outputs bootstrap.json \\
        --reviewer alice --dry-run

`repository.py` reads what the repository is (owner, visibility, plan features, OIDC subject);
`wiring.py` declares what the workflows need (derived from the bootstrap's outputs);
`github_api.py` plans the calls that repository accepts and sends them, or prints them with
--dry-run.
"""

"""The shipyard Pulumi program's building blocks: one ComponentResource per module.

The package is `infra`, not `platform`: a package named `platform` would shadow the standard
library module of that name. It is importable because `platform/` is on the path (Pulumi runs
`platform/__main__.py` from there; pytest has it in `pythonpath`).
"""

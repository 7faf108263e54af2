"""The shipyard Pulumi program's building blocks: one ComponentResource per module.

The package is `infra`, not `platform`: a package named `platform` would shadow the standard
library module of that name. It is importable because Pulumi runs `platform/__main__.py` with
platform/ as the working directory, and because `make install` installs it (editable) for the
tools and tests.
"""

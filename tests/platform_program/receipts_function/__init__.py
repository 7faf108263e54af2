"""A second function's code, for tests/platform_program/test_declared_functions.py: a package of
this repository, declared in a copy of services.yaml only, as a user would add theirs."""

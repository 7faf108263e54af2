"""Running the system on one machine: the AWS emulator process and the `make dev` supervisor.

Only `make dev` and the tests use this package; the container image never runs it (it has no
emulator installed).
"""

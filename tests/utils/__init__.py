"""Helpers shared by the tests: database backends, users and tokens, free ports, processes."""

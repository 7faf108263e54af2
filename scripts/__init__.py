"""Operational scripts, run from the repository root (`python -m scripts.<package>.<module>`)."""

"""Developer tools: the offline Pulumi plan (`python -m tools.plan`)."""

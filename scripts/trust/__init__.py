"""Offline proof that every CI job can assume exactly the AWS role it uses (and nothing else)."""

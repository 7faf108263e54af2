"""Messaging: the SNS/SQS topology (shared with Pulumi), the outbox relay, the worker."""

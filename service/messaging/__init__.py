"""Messaging: the SNS/SQS topology (shared with the Pulumi program), the outbox relay and the worker."""

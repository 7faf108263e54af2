"""Orders: placed through the API, fulfilled by the worker, announced through the outbox."""

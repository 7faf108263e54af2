"""What a rehearsal is asked to do: how many replicas to replace, how fast, and the load around
the replacement. Both rehearsals take these fields the same way; each adds its own (its broken
variants, the worker's order rate) and may choose other defaults."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RehearsalPlan:
    replicas: int = 3
    # The stack's timings scaled by this (0.1: a 10 s health-check interval becomes 1 s).
    scale: float = 0.1
    # After the rollout the load goes on until at least this many requests were sent.
    min_requests: int = 0
    # Simulated users, each with its own connection.
    concurrency: int = 8
    before_seconds: float = 3.0  # of load before the rollout begins
    after_seconds: float = 3.0  # of load after it ends (at least)
    # Hard cap on the whole load (seconds): a hung rollout must not run forever.
    max_seconds: float = 900.0

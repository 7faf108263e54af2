"""Zero-downtime rehearsal: an ECS rolling update reproduced on one machine.

`python -m tools.rehearsal` (`make rehearse`) puts HAProxy, driven like the ALB, in front of
replicas of `python -m service api`, sends continuous traffic from a separate process, replaces
every replica the way ECS does, and fails (exit 1, with the table) if a single request failed.
`--broken` runs the same rollout without one of its safeguards, to show that the rehearsal would
notice."""

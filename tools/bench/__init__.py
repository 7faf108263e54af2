"""Benchmarks (`make bench`): API and order-pipeline throughput as ratios against baselines
measured in the same run, and the rollout time each stack's settings imply. Results go to
tools/bench/RESULTS.md with the machine they ran on."""

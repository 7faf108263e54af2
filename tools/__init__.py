"""Development tooling: never in the service image, never imported by `service/`.

local/      `make dev` (supervisor, AWS emulator, local Lambda runner), scratch databases,
            a throw-away PostgreSQL cluster, traffic clients
plan/       `make plan`: the Pulumi program evaluated offline under Pulumi's mocks
rehearsal/  `make rehearse`: a rolling deployment behind a real proxy
bench/      `make bench`: throughput as ratios against baselines
screenshot  `make screenshot`: docs/screenshot.png
"""

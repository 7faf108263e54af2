"""The database connection check counts the deployment peak against what RDS really allows.

During a deploy every service runs its old and its new tasks at once: a rolling deployment may
start up to maximumPercent (200 %) of the desired count, and a blue/green one keeps blue at full
size while green takes traffic during the bake. Autoscaling may have the desired count at
`*_max_tasks` when the deploy starts. And RDS computes max_connections from DBInstanceClassMemory,
which is below the instance class's nominal memory (AWS, RDS User Guide: "Quotas and constraints"
for the formula, "Specifying DB parameters" for the variable; see infra/config.py).
"""

from __future__ import annotations

import pytest

from infra.config import (
    API_CONNECTIONS_PER_PROCESS,
    DEPLOYMENT_MAXIMUM_PERCENT,
    MIGRATE_CONNECTIONS,
    POSTGRES_BYTES_PER_CONNECTION,
    RESERVED_CONNECTIONS,
    WORKER_CONNECTIONS_PER_TASK,
    ConfigError,
    db_max_connections,
    parse_stack_config,
    postgres_max_connections,
)
from tools.plan.offline import raw_stack_config

GIB = 1024**3


def problems(stack: str, **settings: str) -> str:
    overrides = {f"shipyard:{k}": v for k, v in settings.items()}
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(raw_stack_config(stack, overrides), stack)
    return str(caught.value)


# What `SHOW max_connections` answers on RDS for PostgreSQL with the default parameter group, as
# users have published it (instance class memory in GiB -> max_connections; db.t2.small, .medium,
# .large / db.m4.large, db.r4.large: gist.github.com/guizmaii/1cacffef793c2ba9645083c3e18b3d8c,
# community-reported, not AWS's): each is below the nominal-memory figure by more than the
# formula's rounding. The model may be more cautious than these, never less.
REPORTED_MAX_CONNECTIONS = {2: 198, 4: 413, 8: 856, 15.25: 1660}


@pytest.mark.parametrize(("memory_gib", "reported"), REPORTED_MAX_CONNECTIONS.items())
def test_max_connections_never_exceed_what_rds_reports(memory_gib: float, reported: int) -> None:
    nominal = int(memory_gib * GIB) // POSTGRES_BYTES_PER_CONNECTION
    assumed = postgres_max_connections(memory_gib)
    assert assumed <= reported < nominal
    assert assumed >= 0.9 * reported, "cautious, not useless"


def test_control_the_nominal_memory_overstates_the_limit() -> None:
    """The old figure (nominal memory) is above every reported value: the check that used it
    accepted configurations RDS would refuse connections to."""
    for memory_gib, reported in REPORTED_MAX_CONNECTIONS.items():
        assert int(memory_gib * GIB) // POSTGRES_BYTES_PER_CONNECTION > reported


def test_a_micro_instance_accepts_about_80_not_107() -> None:
    assert db_max_connections("db.t4g.micro") - RESERVED_CONNECTIONS < 107
    assert 75 <= db_max_connections("db.t4g.micro") - RESERVED_CONNECTIONS <= 85
    assert db_max_connections("db.r7g.16xlarge") == 5000  # LEAST(..., 5000)


def test_staging_at_full_scale_during_a_deploy_needs_158_connections() -> None:
    """The issue's case: staging's tasks (api 3, worker 3) on a db.t4g.micro, as it shipped."""
    message = problems("staging", db_instance_class="db.t4g.micro", deployment_strategy="rolling")
    api = 2 * 3 * 1 * API_CONNECTIONS_PER_PROCESS  # 200 % of api_max_tasks, one process each
    worker = 2 * 3 * WORKER_CONNECTIONS_PER_TASK
    assert api + worker + MIGRATE_CONNECTIONS == 158
    assert "= 158 database connections" in message
    for setting in (
        "shipyard:api_max_tasks=3",
        "shipyard:api_processes_per_task=1",
        "shipyard:worker_max_tasks=3",
        "shipyard:deployment_strategy=rolling",
        "shipyard:db_instance_class=db.t4g.micro",
    ):
        assert setting in message, setting
    assert f"{DEPLOYMENT_MAXIMUM_PERCENT} %" in message
    limit = db_max_connections("db.t4g.micro") - RESERVED_CONNECTIONS
    assert f"above the {limit}" in message


def test_blue_green_counts_blue_and_green_during_the_bake() -> None:
    message = problems(
        "staging", db_instance_class="db.t4g.micro", deployment_strategy="blue_green"
    )
    assert "shipyard:deployment_strategy=blue_green" in message
    assert "blue and green" in message
    assert "= 158 database connections" in message


def test_the_shipped_stack_files_fit_their_peak() -> None:
    for stack in ("staging", "prod"):
        config = parse_stack_config(raw_stack_config(stack), stack)
        limit = db_max_connections(config.db_instance_class) - RESERVED_CONNECTIONS
        assert config.db_connections_at_peak <= limit, stack
        # the peak is twice what the tasks at most open outside a deploy, plus one migration
        steady = config.db_connections_at_peak - MIGRATE_CONNECTIONS
        assert steady == 2 * (
            config.api_max_tasks * config.api_processes * API_CONNECTIONS_PER_PROCESS
            + config.worker_max_tasks * WORKER_CONNECTIONS_PER_TASK
        )

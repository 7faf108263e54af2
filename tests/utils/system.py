"""The system as separate processes, the way ECS runs it: `python -m service api` (with its
outbox relay) and `python -m service worker`, on a real database and the AWS emulator."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from scripts import api_client as api
from service.core.config import Settings
from service.messaging.bootstrap import create_topology
from tests.utils.users import PASSWORD, create_ready_user
from tools.local.emulator import EMULATOR_CREDENTIALS
from tools.local.processes import (
    free_port,
    kill,
    start_python,
    tail,
    terminate,
    wait_until_ready,
)


@dataclass
class LocalSystem:
    database_url: str
    emulator_url: str
    workdir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    topology_env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    api_url: str = ""

    def create_topology(self) -> None:
        settings = Settings(aws_endpoint_url=self.emulator_url, database_url=self.database_url)
        self.topology_env = create_topology(settings, prefix=f"e{uuid.uuid4().hex[:10]}")

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            **EMULATOR_CREDENTIALS,
            "DATABASE_URL": self.database_url,
            "AWS_ENDPOINT_URL": self.emulator_url,
            "LOG_LEVEL": "INFO",
            **self.topology_env,
            **self.extra_env,
            **overrides,
        }

    def start_api(self, **overrides: str) -> str:
        port = free_port()
        log = self.workdir / f"api-{port}.log"
        process = start_python(
            ["-m", "service", "api"],
            env=self.env(**{"PORT": str(port), "RELAY_ENABLED": "true", **overrides}),
            log_path=log,
        )
        self.processes.append(process)
        self.api_url = f"http://127.0.0.1:{port}"
        wait_until_ready(f"{self.api_url}/readyz", process, log)
        return self.api_url

    def start_worker(self, **overrides: str) -> subprocess.Popen[bytes]:
        log = self.workdir / f"worker-{len(self.processes)}.log"
        process = start_python(
            ["-m", "service", "worker"],
            env=self.env(**{"RELAY_ENABLED": "false", "WORKER_WAIT_SECONDS": "2", **overrides}),
            log_path=log,
        )
        self.processes.append(process)
        return process

    def start_relay(self, **overrides: str) -> subprocess.Popen[bytes]:
        """The outbox relay as a process of its own (`python -m service relay`)."""
        log = self.workdir / f"relay-{len(self.processes)}.log"
        process = start_python(["-m", "service", "relay"], env=self.env(**overrides), log_path=log)
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        kill(process)

    def stop_all(self) -> dict[int, int]:
        return {p.pid: terminate(p).code for p in self.processes}

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{tail(p, 30)}" for p in sorted(self.workdir.glob("*.log")))


class ApiClient:
    """A customer using the HTTP API of a server on `database_url`."""

    def __init__(self, base_url: str, database_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.database_url = database_url
        self.headers: dict[str, str] = {}

    def sign_up(self, email: str) -> ApiClient:
        """A ready account (made as `python -m service create-user --confirmed` makes it: a
        sign-up over HTTP must confirm its address first), logged in."""
        create_ready_user(self.database_url, email, PASSWORD)
        self.headers = api.log_in(self.http, email, PASSWORD).headers
        return self

    def create_item(self, price: str = "9.99") -> int:
        response = self.http.post(
            "/api/v1/items", headers=self.headers, json={"title": "Thing", "price": price}
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def place_order(self, item_id: int, key: str | None = None) -> dict:
        response = self.http.post(
            "/api/v1/orders",
            headers={**self.headers, "Idempotency-Key": key or uuid.uuid4().hex},
            json={"lines": [{"item_id": item_id, "quantity": 1}]},
        )
        assert response.status_code == 202, response.text
        return response.json()

    def order(self, order_id: int) -> dict:
        return self.http.get(f"/api/v1/orders/{order_id}", headers=self.headers).json()

    def wait_final(self, order_ids: list[int], timeout: float = 60) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            orders = [self.order(i) for i in order_ids]
            if all(o["status"] in ("completed", "failed") for o in orders):
                return orders
            time.sleep(0.2)
        raise AssertionError(f"orders not final after {timeout} s: {[o['status'] for o in orders]}")


def lifecycle_events_per_order(database_url: str) -> Counter[int]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT payload FROM outbox_events WHERE topic = 'order-events'")
        ).scalars()
        counts = Counter(json.loads(row)["data"]["order_id"] for row in rows)
    engine.dispose()
    return counts

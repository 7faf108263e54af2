"""What the benchmarks ran on: numbers without the machine are meaningless."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cores: int
    python: str
    system: str
    date: str
    load_average: str  # at the start: a busy machine explains low absolute numbers

    def describe(self) -> str:
        return (
            f"{self.cpu_model}, {self.cores} cores, Python {self.python}, {self.system}; "
            f"load average at start {self.load_average}; {self.date}"
        )


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def this_machine() -> Machine:
    try:
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        load = "unknown"
    return Machine(
        cpu_model=cpu_model(),
        cores=os.cpu_count() or 0,
        python=sys.version.split()[0],
        system=f"{platform.system()} {platform.release()}",
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        load_average=load,
    )

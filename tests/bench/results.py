"""Benchmark results: collected by the benchmarks, written to var/bench/ as JSON and printed as a
table at the end of the run (see conftest.py). Each number is kept beside its limit or baseline."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FULL = os.environ.get("BENCH_FULL", "") not in ("", "0")
SIZE = "full" if FULL else "smoke"


@dataclass
class Result:
    bench: str
    metric: str
    value: float | int | str
    unit: str = ""
    limit: str = ""  # the limit it is held to, or the baseline it is compared with


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def add(
        self, bench: str, metric: str, value: float | int | str, unit: str = "", limit: str = ""
    ) -> None:
        if isinstance(value, float):
            value = round(value, 4)
        self.results.append(Result(bench, metric, value, unit, limit))


REPORT = Report()


def machine(database: dict[str, str]) -> dict[str, Any]:
    """What the numbers were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout  # noqa: S607
    except (OSError, subprocess.SubprocessError):
        lscpu = ""
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "lscpu": lscpu.splitlines()[:10],
        "python": platform.python_version(),
        "platform": platform.platform(),
        **database,
    }


def write(path: Path, info: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "size": SIZE,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": info,
        "results": [asdict(result) for result in REPORT.results],
        "details": REPORT.details,
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def table() -> list[str]:
    rows = [(r.bench, r.metric, f"{r.value} {r.unit}".strip(), r.limit) for r in REPORT.results]
    if not rows:
        return []
    header = ("benchmark", "metric", "value", "limit / baseline")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))

    return [line(header), line(tuple("-" * w for w in widths))] + [line(row) for row in rows]

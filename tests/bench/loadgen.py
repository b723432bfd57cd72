"""A small closed-loop HTTP load generator: N threads, each sending its next request as soon as
the previous one is answered, over keep-alive connections when the server allows (gunicorn's sync
workers close after each answer; http.client then reconnects by itself).

The standard library is enough for the rates a 3-worker gunicorn reaches, and it keeps the
benchmark free of another dependency. Python threads share one core for the client's own work:
the trivial view (/healthz) measured the same way is the ceiling the other numbers are read
against, so the client's cost is in both.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

# (method, path, body, headers) for the n-th request
RequestMaker = Callable[[int], tuple[str, str, bytes | None, dict[str, str]]]
# Is this answer (status, body) a success?
Checker = Callable[[int, bytes], bool]


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float] = field(repr=False)
    samples: list[str] = field(default_factory=list, repr=False)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def form(**fields: object) -> tuple[bytes, dict[str, str]]:
    return urlencode({k: str(v) for k, v in fields.items()}).encode(), {
        "Content-Type": "application/x-www-form-urlencoded"
    }


def run_load(
    *,
    host: str,
    port: int,
    make: RequestMaker,
    ok: Checker,
    concurrency: int,
    seconds: float,
    warmup: float = 0.5,
    timeout: float = 30.0,
) -> LoadResult:
    """Load the server for `warmup` + `seconds`; only the last `seconds` are counted."""
    counter = iter(range(10**12))
    counter_lock = threading.Lock()
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    samples: list[str] = []

    def worker(index: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            while True:
                now = time.monotonic()
                if now >= stop_at:
                    return
                with counter_lock:
                    number = next(counter)
                method, path, body, headers = make(number)
                began = time.monotonic()
                try:
                    connection.request(method, path, body=body, headers=headers)
                    response = connection.getresponse()
                    payload = response.read()
                    success = ok(response.status, payload)
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()
                    success, payload = False, repr(exc).encode()
                ended = time.monotonic()
                if began < measure_from:
                    continue
                latencies[index].append((ended - began) * 1000)
                if not success:
                    errors[index] += 1
                    if len(samples) < 5:
                        samples.append(payload[:200].decode(errors="replace"))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=warmup + seconds + timeout + 5)
    flat = [value for chunk in latencies for value in chunk]
    return LoadResult(
        requests=len(flat),
        errors=sum(errors),
        seconds=seconds,
        latencies_ms=flat,
        samples=samples,
    )


def fire_at_once(
    *, host: str, port: int, requests: list[tuple[str, str, bytes | None, dict[str, str]]]
) -> list[tuple[int, bytes]]:
    """Send every request at the same moment, each on its own connection and thread; return
    (status, body) per request, in order (status 0 when no answer came)."""
    barrier = threading.Barrier(len(requests))
    answers: list[tuple[int, bytes]] = [(0, b"")] * len(requests)

    def send(index: int) -> None:
        method, path, body, headers = requests[index]
        connection = http.client.HTTPConnection(host, port, timeout=60)
        try:
            connection.connect()
            barrier.wait()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answers[index] = (response.status, response.read())
        except (OSError, http.client.HTTPException, threading.BrokenBarrierError) as exc:
            answers[index] = (0, repr(exc).encode())
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return answers

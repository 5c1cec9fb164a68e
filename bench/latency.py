"""Latency of single requests, one at a time over a kept-alive connection.

The queries are measured in rounds (each query once per round) rather than one after the other, so a
burst of load from elsewhere on this shared machine slows all of them alike instead of one. Each round
takes them in a new random order: a query's time can depend on the one before it (a 300 ms offset scan
just before leaves the database busier), and no query should always follow the same one.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

# Checks one response body (raises if it is not what the query should return).
Check = Callable[[dict], None]


@dataclass(frozen=True)
class Query:
    name: str
    path: str
    params: Mapping[str, str | int]
    check: Check | None = None


@dataclass(frozen=True)
class LatencyResult:
    samples_ms: list[float]
    # The server's own CPU time for each request, when a probe was given: how much of the latency is
    # the server's work rather than waiting for the database.
    cpu_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p90(self) -> float:
        return statistics.quantiles(self.samples_ms, n=10)[-1] if len(self.samples_ms) > 1 else self.p50


def timed_get(client: httpx.Client, query: Query) -> tuple[float, dict]:
    began = time.perf_counter()
    response = client.get(query.path, params=query.params)
    elapsed_ms = (time.perf_counter() - began) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{query.name}: HTTP {response.status_code} {response.text[:300]}")
    return elapsed_ms, response.json()


def measure(
    base_url: str,
    auth: tuple[str, str],
    queries: list[Query],
    *,
    samples: int,
    warmup: int = 5,
    server_cpu: Callable[[], float] | None = None,
) -> dict[str, LatencyResult]:
    """p50 etc. of each query; `server_cpu` (seconds used so far by the server) adds CPU per request."""
    times: dict[str, list[float]] = {q.name: [] for q in queries}
    cpu: dict[str, list[float]] = {q.name: [] for q in queries}
    with httpx.Client(base_url=base_url, auth=auth, timeout=60.0) as client:
        for query in queries:
            # Warm-up also checks each answer once, so a wrong page cannot produce a fast figure.
            for _ in range(max(warmup, 1)):
                _, body = timed_get(client, query)
            if query.check is not None:
                query.check(body)
        rng = random.Random(0)
        for _ in range(samples):
            for query in rng.sample(queries, len(queries)):
                cpu_before = server_cpu() if server_cpu else 0.0
                elapsed_ms, _ = timed_get(client, query)
                times[query.name].append(elapsed_ms)
                if server_cpu:
                    cpu[query.name].append((server_cpu() - cpu_before) * 1000)
    return {name: LatencyResult(times[name], cpu[name]) for name in times}

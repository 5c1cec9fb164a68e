"""Start-up benchmark: CPU a `restcomm serve` spends from exec to its first API answer.

The suite starts the server dozens of times (tests/test_serve.py, tests/cluster, tests/live_contract, the SDK
tests), and `make test` has to fit in 10 minutes of a 2-core machine (issue 14), so what one start costs in CPU
is paid again at each of them. Measured: the server's process CPU clock (testkit.processes.cpu_seconds: user +
system of every thread) once it answered an authenticated GET of the account list, on a fresh SQLite file
(every migration runs) and on one already migrated; beside it the baseline, a bare Starlette app on the same
ORM and driver opened the same way (bench/baseline.py) started by the same uvicorn, to its first answer. They
take turns, so load drifting on a shared machine hits each alike; each figure is the median of the rounds.

    .venv/bin/python -m bench.startup              # 5 rounds, about 30 s
    .venv/bin/python -m bench.startup --rounds 9
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from bench.harness import procs
from bench.harness.report import Figure, progress, run_and_report
from testkit.ports import free_port

AUTH = ("ACae6e420f425248d6a26948c17a9e2acf", "77f8c12cc7b8f8423e5c38b035249166")
ACCOUNTS = "/restcomm/2012-04-24/Accounts.json"
# The budget of one start on an already migrated database: what the suite's dozens of starts can afford.
TARGET_MIGRATED_S = 1.5


def _first_answer(service: procs.Service, path: str, auth: tuple[str, str] | None, deadline_s: float = 60) -> int:
    """Polls until the service answers `path` at all; its status."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited with {service.process.returncode}:\n{service.log_tail()}")
        try:
            return httpx.get(service.base_url + path, auth=auth, timeout=5).status_code
        except httpx.TransportError:
            time.sleep(0.02)
    raise RuntimeError(f"{service.name} did not answer within {deadline_s:.0f} s:\n{service.log_tail()}")


def _start_cpu(name: str, argv: list[str], workdir: Path, probe: str, auth: tuple[str, str] | None,
               env: dict[str, str] | None = None, expect: int = 200) -> float:
    # The baseline is imported from the project; the server runs in the scratch directory (nothing it
    # writes lands in the project).
    port = free_port()
    argv = [a.replace("{port}", str(port)) for a in argv]
    service = procs.start_service(name, argv, port, workdir, lifetime=120, env=env,
                                   cwd=procs.PROJECT_ROOT if env else workdir)
    try:
        status = _first_answer(service, probe, auth)
        seconds = service.cpu_seconds()
    finally:
        procs.stop(service)
    if status != expect:
        raise RuntimeError(f"{name} answered {status} to {probe}, not {expect}:\n{service.log_tail()}")
    return seconds


def _serve(database_url: str) -> list[str]:
    return [*procs.restcomm_command(), "serve", "--http-port", "{port}", "--database-url", database_url,
            "--sip-port", str(free_port(socket.SOCK_DGRAM)), "--log-level", "warning"]


def _baseline() -> list[str]:
    return [sys.executable, "-m", "uvicorn", "bench.baseline:app", "--host", "127.0.0.1", "--port", "{port}",
            "--workers", "1", "--no-access-log", "--log-level", "warning"]


def run(figures: list[Figure], rounds: int) -> None:
    cpu: dict[str, list[float]] = {"fresh": [], "migrated": [], "baseline": []}
    with ExitStack() as stack:
        workdir = procs.workdir(stack, None, "bench-startup-")
        for round_ in range(rounds):
            database = f"sqlite://{workdir}/round{round_}.sqlite3"
            cpu["fresh"].append(_start_cpu("fresh", _serve(database), workdir, ACCOUNTS, AUTH))
            # Turns alternate in order, so that neither always runs right after the fresh start.
            later = [("migrated", _serve(database), ACCOUNTS, AUTH, None, 200),
                     ("baseline", _baseline(), "/", None, {"BENCH_DATABASE_URL": database}, 404)]
            for name, argv, probe, auth, env, expect in (later if round_ % 2 == 0 else later[::-1]):
                cpu[name].append(_start_cpu(name, argv, workdir, probe, auth, env, expect))
            progress(f"round {round_ + 1}/{rounds}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in cpu.items()))
    medians = {name: statistics.median(values) for name, values in cpu.items()}

    def spread(values: list[float]) -> str:
        return f"{len(values)} rounds: {min(values):.2f}-{max(values):.2f}"

    figures.append(Figure("restcomm serve start-up CPU, fresh SQLite (every migration)", medians["fresh"], "s",
                          detail=spread(cpu["fresh"])))
    figures.append(Figure("restcomm serve start-up CPU, migrated SQLite", medians["migrated"], "s",
                          f"<= {TARGET_MIGRATED_S}", medians["migrated"] <= TARGET_MIGRATED_S,
                          detail=spread(cpu["migrated"])))
    figures.append(Figure("baseline start-up CPU: bare Starlette + Tortoise", medians["baseline"], "s",
                          detail=spread(cpu["baseline"])))
    figures.append(Figure("restcomm serve (migrated) / baseline", medians["migrated"] / medians["baseline"], "x"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="starts of each kind [%(default)s]")
    args = parser.parse_args()
    return run_and_report(lambda figures: run(figures, args.rounds), require_figures=True)


if __name__ == "__main__":
    sys.exit(main())

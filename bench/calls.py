"""The call-rate benchmark, in one command: `.venv/bin/python -m bench.calls` (see bench/README.md).

- outbound: calls per second one `restcomm serve` process places through the API (POST Calls.json, sent
  at a fixed rate by bench/callgen.py) to a sipp callee that answers; the RCML, `<Response><Hangup/></Response>`,
  comes from bench/rcml_app.py. The rate rises step by step; the figure is the highest step with no failed call.
- inbound: a sipp caller dials a number configured on the server (IncomingPhoneNumbers, VoiceUrl = the
  same Hangup RCML) at a rising rate.
- for each: the latency (API request sent -> INVITE at sipp; INVITE -> 200 OK at sipp for inbound) and the
  server's CPU time per call. Both on SQLite and PostgreSQL.

Exits 0 when every target passes, 1 when one fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode

import asyncpg
import httpx

from bench import call_profile, dataset
from bench.api import API, AUTH, READY_PATH, create_postgres_database
from bench.dataset import MAIN_ACCOUNT_SID
from bench.harness import loadgen, procs, sipp
from bench.harness.percentiles import percentile
from bench.harness.report import Figure, progress, run_and_report
from testkit import postgres, processes
from testkit.ports import free_port

# The target for outbound calls; latency and the profile are taken at this rate when it passes.
TARGET_CPS = 100.0
# A step keeps its rate when INVITEs (outbound) or answers (inbound) reach sipp at >= 97% of the rate asked
# for: a server falling behind spreads them over a longer time than the requests took. (One that keeps up
# stays within 1%: its latency at the end of a step is what it was at the start.)
SUSTAINED_MIN = 0.97
# The RCML app alone must answer this many times the highest rate: then it uses < 1/10 of a core in a step.
RCML_APP_HEADROOM = 10
# The load generator is not the bottleneck if it sends 99% of its requests within this long of schedule.
GENERATOR_LAG_P99_MAX_MS = 20.0
NUMBER = "+15550100100"
FINAL_POLL_S = 0.1
PAUSE_BETWEEN_STEPS_S = 2.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.calls", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="under 2 minutes: PostgreSQL only, steps 25, 50 and 100 calls/s of 5 s, 10 s settle")
    parser.add_argument("--only", choices=("outbound", "inbound"), help="run one direction only")
    parser.add_argument("--rates", help="outbound steps, calls/s, comma-separated [25,35,50,75,100,125,150]")
    parser.add_argument("--inbound-rates", help="inbound steps, calls/s [the same as --rates]")
    parser.add_argument("--seconds", type=float, help="length of each step [30; 5 with --quick]")
    parser.add_argument("--settle", type=float,
                        help="seconds a step's calls may take to end after its last is placed [15; 10 with --quick]")
    parser.add_argument("--runs", type=int, default=1,
                        help="ramps per direction and database; each figure is the median of the runs [%(default)s]")
    parser.add_argument("--keep-going", action="store_true", help="run every step even after one fails")
    parser.add_argument("--databases", help="comma-separated [sqlite,postgres; postgres with --quick]")
    parser.add_argument("--postgres", default=postgres.ADMIN_URL,
                        help="an existing database to connect to; a throwaway one is created beside it")
    parser.add_argument("--rtp-ports", default="40000-41999", help="the server's RTP port range [%(default)s]")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="after the measured steps, profile the server with py-spy at the target rate")
    parser.add_argument("--keep-files", type=Path, metavar="DIR",
                        help="write logs, sipp traces and the generator's records to DIR and keep them")
    parser.add_argument("--lifetime", type=float, default=3600.0,
                        help="hard bound, in seconds, on the life of every server started [%(default)s]")
    args = parser.parse_args(argv)
    args.rates = _rates(args.rates or ("25,50,100" if args.quick else "25,35,50,75,100,125,150"))
    args.databases = args.databases or ("postgres" if args.quick else "sqlite,postgres")
    args.inbound_rates = _rates(args.inbound_rates) if args.inbound_rates else args.rates
    args.seconds = args.seconds or (5.0 if args.quick else 30.0)
    args.settle = args.settle or (10.0 if args.quick else 15.0)
    return args


def with_step_defaults(args: argparse.Namespace, settle_s: float = 15) -> argparse.Namespace:
    """`args` of a benchmark built on this one's steps (bench/telemetry.py, bench/sip_messages.py), completed with
    what the steps read from this benchmark's own arguments, at their defaults."""
    base = parse_args(["--seconds", f"{args.seconds:g}", "--settle", f"{settle_s:g}"])
    for name, value in vars(base).items():
        setattr(args, name, getattr(args, name, value))
    return args


def _rates(text: str) -> list[float]:
    return sorted(float(rate) for rate in text.split(","))


def achieved_rate(times: Sequence[float]) -> float:
    """Events per second between the first and the last of `times` (0 with fewer than two)."""
    if len(times) < 2:
        return 0.0
    span = max(times) - min(times)
    return (len(times) - 1) / span if span > 0 else float("inf")


# --- what a step measured --------------------------------------------------------------------------------

@dataclass
class Step:
    direction: str  # "outbound" or "inbound"
    rate: float
    offered: int
    completed: int  # calls whose final status in the database is `completed`
    sipp_successful: int
    failures: dict[str, int]  # why calls failed, for the detail column
    sustained: float  # achieved rate at sipp / rate asked for
    cpu_ms: float  # server CPU per call
    database_cpu_ms: float  # PostgreSQL backends' CPU per call (0 for SQLite, which runs in the server)
    core_share: float  # server CPU / wall time of the step
    latency_ms: list[float]  # outbound: API sent -> INVITE at sipp; inbound: INVITE -> 200 OK at sipp
    api_ms: list[float] = field(default_factory=list)  # outbound: API response time
    generator_lag_p99_ms: float = 0.0

    @property
    def failed(self) -> int:
        return self.offered - min(self.completed, self.sipp_successful)

    @property
    def passed(self) -> bool:
        return self.failed == 0 and not any(self.failures.values()) and self.sustained >= SUSTAINED_MIN

    def summary(self) -> str:
        # A generator behind its schedule would make the server look better than it is: say so.
        lagged = (f" (generator lag p99 {self.generator_lag_p99_ms:.0f} ms)"
                  if self.generator_lag_p99_ms > GENERATOR_LAG_P99_MAX_MS else "")
        if self.passed:
            return f"{self.rate:g} ok{lagged}"
        reasons = ", ".join(f"{n} {why}" for why, n in self.failures.items() if n)
        kept = "" if self.sustained >= SUSTAINED_MIN else f", rate kept {self.sustained:.0%}"
        return f"{self.rate:g} FAIL ({self.failed} failed{': ' + reasons if reasons else ''}{kept}){lagged}"

    def describe(self) -> str:
        what = "API->INVITE" if self.direction == "outbound" else "INVITE->200"
        text = (f"{self.direction} {self.rate:g}/s: {self.offered} calls, {self.failed} failed, rate kept "
                f"{self.sustained:.0%}, {what} p50 {percentile(self.latency_ms, 50):.1f} ms p99 "
                f"{percentile(self.latency_ms, 99):.1f} ms, server {self.cpu_ms:.2f} ms CPU/call "
                f"({self.core_share:.0%} of a core)")
        if self.database_cpu_ms:
            text += f", PostgreSQL backends {self.database_cpu_ms:.2f} ms CPU/call"
        if self.api_ms:
            text += (f", API response p50 {percentile(self.api_ms, 50):.1f} ms p99 {percentile(self.api_ms, 99):.1f}"
                     f" ms, generator lag p99 {self.generator_lag_p99_ms:.1f} ms")
        failures = {why: n for why, n in self.failures.items() if n}
        return text + (f"; failures: {failures}" if failures else "")


# --- final statuses, read from the database -----------------------------------------------------------------

class Statuses(Protocol):
    def count(self, from_address: str) -> Counter[str]:
        """Calls of the main account with this From, by status."""

    def database_cpu(self) -> dict[int, float]:
        """CPU seconds so far of each database process serving the server (none for SQLite: in-process)."""

    def close(self) -> None: ...


_COUNT_SQL = "SELECT status, count(*) FROM calls WHERE account_sid = {0} AND from_address = {1} GROUP BY status"


class SqliteStatuses:
    def __init__(self, path: Path) -> None:
        self.path = path

    def count(self, from_address: str) -> Counter[str]:
        # Read-only and short: the server keeps writing while we poll.
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)) as db:
            rows = db.execute(_COUNT_SQL.format("?", "?"), (MAIN_ACCOUNT_SID, from_address)).fetchall()
        return Counter(dict(rows))

    def database_cpu(self) -> dict[int, float]:
        return {}

    def close(self) -> None:
        pass


class PostgresStatuses:
    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.connection = self.loop.run_until_complete(asyncpg.connect(postgres.asyncpg_dsn(url)))

    def count(self, from_address: str) -> Counter[str]:
        rows = self.loop.run_until_complete(
            self.connection.fetch(_COUNT_SQL.format("$1", "$2"), MAIN_ACCOUNT_SID, from_address))
        return Counter({row[0]: row[1] for row in rows})

    def database_cpu(self) -> dict[int, float]:
        """The backends serving the server's connections (not this one), when PostgreSQL runs on this machine
        and /proc shows them. The server's pool keeps its connections, so the same backends serve a step."""
        rows = self.loop.run_until_complete(self.connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        times = {}
        for row in rows:
            with contextlib.suppress(OSError):
                times[row["pid"]] = processes.cpu_seconds(row["pid"])
        return times

    def close(self) -> None:
        self.loop.run_until_complete(self.connection.close())
        self.loop.close()


# --- the processes -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Usage:
    """CPU seconds used so far: by the server process, and by each database process serving it."""

    at: float  # time.monotonic()
    server: float
    database: dict[int, float]

    def since(self, before: Usage, calls: int) -> tuple[float, float, float]:
        """(server ms per call, database ms per call, server share of a core) between `before` and this."""
        database = sum(cpu - before.database.get(pid, 0.0) for pid, cpu in self.database.items())
        server = self.server - before.server
        return 1000 * server / max(1, calls), 1000 * database / max(1, calls), server / (self.at - before.at)


@dataclass
class Server:
    kind: str  # "SQLite" or "PostgreSQL", as printed
    service: procs.Service
    sip_port: int
    statuses: Statuses
    idle_ms_per_s: float = 0.0  # CPU the server burns doing nothing (sippy's 100 Hz reactor, timers), per second

    def usage(self) -> Usage:
        return Usage(time.monotonic(), processes.cpu_seconds(self.service.server_pid), self.statuses.database_cpu())


@dataclass
class Bench:
    args: argparse.Namespace
    stack: ExitStack
    workdir: Path
    rcml: procs.Service | None = None
    baseline: Baseline | None = None
    steps: list[Step] = field(default_factory=list)  # every measured step, for the failed-calls figure
    _callers: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def rcml_url(self) -> str:
        assert self.rcml is not None
        return f"{self.rcml.base_url}/hangup.xml"

    def new_caller(self) -> str:
        """A From that no earlier step used: a step's calls are found in the database by it."""
        return f"+1555{next(self._callers):07d}"

    def step_lifetime(self) -> float:
        return self.args.seconds + self.args.settle + 60

    def start_rcml_app(self) -> procs.Service:
        port = free_port()
        argv = [sys.executable, "-m", "uvicorn", "bench.rcml_app:app", "--host", "127.0.0.1", "--port", str(port),
                "--loop", "uvloop", "--http", "httptools", "--lifespan", "off", "--no-access-log",
                "--log-level", "warning"]
        service = procs.start_service("rcml-app", argv, port, self.workdir, lifetime=self.args.lifetime)
        self.stack.callback(procs.stop, service)
        procs.wait_ready(service, "/hangup.xml", None)
        self.rcml = service
        return service

    def start_server(self, kind: str, stack: ExitStack, extra_flags: Sequence[str] = (), name: str = "",
                     workdir: Path | None = None) -> Server:
        """`extra_flags` come after the defaults and win over them (bench/telemetry.py turns metrics off). Its
        files go to `workdir` (the bench's unless told: two servers side by side each have their own)."""
        workdir = workdir or self.workdir
        if kind == "sqlite":
            path = workdir / "calls.sqlite3"
            url, label, make_statuses = f"sqlite://{path}", "SQLite", lambda: SqliteStatuses(path)
        else:
            url = create_postgres_database(self.args.postgres, stack)
            label, make_statuses = "PostgreSQL", lambda: PostgresStatuses(url)
        port, sip_port = free_port(), free_port(socket.SOCK_DGRAM)
        # Production defaults spelled out, so RESTCOMM_* variables in this shell cannot change the figures.
        argv = [*procs.restcomm_command(), "serve", "--http-port", str(port), "--database-url", url,
                "--sip-host", "127.0.0.1", "--sip-port", str(sip_port), "--rtp-ports", self.args.rtp_ports,
                "--node-id", f"bench-calls-{sip_port}", "--log-level", "info", "--no-validate-responses",
                # The inbound steps are one sipp, one address, at up to 150 calls/s: a trunk, not a flood.
                "--invite-rate", "0", "--account-max-calls", "100000", "--number-max-calls", "100000",
                *extra_flags]
        # In the scratch directory: nothing the server writes lands in the project.
        service = procs.start_service(name or f"restcomm-{kind}", argv, port, workdir, lifetime=self.args.lifetime,
                                      cwd=workdir)
        stack.callback(procs.stop, service)
        procs.wait_ready(service, READY_PATH, AUTH)
        statuses = make_statuses()
        stack.callback(statuses.close)
        return Server(label, service, sip_port, statuses)


# --- the API load generator ------------------------------------------------------------------------------------

@dataclass
class Sample:
    lag_ms: float
    sent: float
    done: float
    status: int
    sid: str | None


@dataclass
class Generated:
    samples: list[Sample]
    cpu_s: float
    connections: int
    errors: list[str]

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.status in (200, 201)]

    @property
    def lag_p99_ms(self) -> float:
        return percentile([s.lag_ms for s in self.samples], 99)


def generate(bench: Bench, name: str, url: str, body: dict[str, str], rate: float, seconds: float,
             authorization: str = "") -> Generated:
    """Runs bench/callgen.py in its own process (bounded, stopped by pid) and reads what it recorded."""
    out = bench.workdir / f"{name}.json"
    argv = [sys.executable, "-m", "bench.callgen", "--url", url, "--rate", f"{rate:g}", "--seconds", f"{seconds:g}",
            "--body", urlencode(body), "--authorization", authorization, "--out", str(out)]
    service = procs.start_service(name, argv, 0, bench.workdir, lifetime=seconds + 90)
    try:
        code = service.process.wait(seconds + 80)
    finally:
        procs.stop(service)
    if code != 0:
        raise RuntimeError(f"the load generator exited with {code}:\n{service.log_tail()}")
    result = json.loads(out.read_text())
    return Generated([Sample(*s) for s in result["samples"]], result["cpu_s"], result["connections"],
                     result["errors"])


# --- the checks: neither the RCML app nor the load generator is the bottleneck ---------------------------------

_WRK_POST = """\
-- Generated by bench/calls.py: POST the parameters the server sends with an RCML fetch.
wrk.method = "POST"
wrk.body = "%(body)s"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
"""

# What the server posts when it fetches a call's RCML (rcml/owner.py request_parameters).
FETCH_PARAMETERS = {"CallSid": "CA" + "0" * 32, "AccountSid": MAIN_ACCOUNT_SID, "From": "+15550000001",
                    "To": "sip:bench@127.0.0.1:5060", "CallStatus": "in-progress", "ApiVersion": "2012-04-24",
                    "Direction": "outbound-api", "ForwardedFrom": "", "CallerName": ""}


def check_rcml_app(bench: Bench, top_rate: float) -> Figure:
    rcml = bench.rcml
    assert rcml is not None
    script = bench.workdir / "rcml-post.lua"
    script.write_text(_WRK_POST % {"body": urlencode(FETCH_PARAMETERS)} + loadgen.REPORT)
    loadgen.run_wrk(rcml.base_url + "/hangup.xml", script, seconds=1, connections=4)  # warm-up
    cpu_before = processes.cpu_seconds(rcml.server_pid)
    result = loadgen.run_wrk(rcml.base_url + "/hangup.xml", script, seconds=3, connections=4)
    cpu_ms = 1000 * (processes.cpu_seconds(rcml.server_pid) - cpu_before) / result.requests
    needed = RCML_APP_HEADROOM * top_rate
    progress(f"RCML app alone: {result.rps:,.0f} req/s, {cpu_ms:.3f} ms CPU/request")
    return Figure("RCML app alone (wrk POST, 4 connections)", result.rps, "req/s", f">= {needed:,.0f} (10x top rate)",
                  result.rps >= needed,
                  f"{cpu_ms:.2f} ms CPU/req: {cpu_ms * top_rate / 10:.1f}% of a core at {top_rate:g}/s; "
                  f"p99 {result.p99_ms:.1f} ms")


def check_generator(bench: Bench, top_rate: float) -> Figure:
    """The generator alone, against the RCML app (which answers any POST at once), at the highest rate."""
    assert bench.rcml is not None
    seconds = min(bench.args.seconds, 5.0)
    run = generate(bench, "callgen-alone", bench.rcml_url, FETCH_PARAMETERS, top_rate, seconds)
    rate = achieved_rate([s.sent for s in run.samples])
    errors = len(run.samples) - len(run.ok)
    cpu_ms = 1000 * run.cpu_s / len(run.samples)
    passed = errors == 0 and rate >= 0.99 * top_rate and run.lag_p99_ms <= GENERATOR_LAG_P99_MAX_MS
    progress(f"load generator alone: {rate:.1f} req/s, lag p99 {run.lag_p99_ms:.1f} ms, {cpu_ms:.2f} ms CPU/request")
    return Figure(f"API load generator alone, at {top_rate:g} req/s", rate, "req/s", f">= {0.99 * top_rate:g}",
                  passed, f"{errors} errors, send lag p99 {run.lag_p99_ms:.1f} ms (max {GENERATOR_LAG_P99_MAX_MS:g}),"
                          f" {cpu_ms:.2f} ms CPU/request, {run.connections} connections")


# --- the baseline: sipp calling sipp, no server in between --------------------------------------------------------

@dataclass
class Baseline:
    """sipp (uac_hangup.xml, playing the server's part: INVITE, ACK, BYE) calling sipp (uas_answer.xml, the
    same callee as the outbound steps) at the top rate: what this machine's loopback and sipp cost alone."""

    rate: float
    calls: int
    failed: int
    sustained: float
    invite_ms: list[float]  # caller sends INVITE -> callee receives it (the outbound latency's floor)
    answer_ms: list[float]  # caller sends INVITE -> caller receives 200 OK (the inbound latency's floor)
    cpu_ms: float  # the caller's CPU per call (it does what the server does for an outbound call)

    @property
    def passed(self) -> bool:
        return self.failed == 0 and self.sustained >= SUSTAINED_MIN


def check_sipp_baseline(bench: Bench, rate: float) -> Figure:
    seconds = min(bench.args.seconds, 10.0)
    calls = round(rate * seconds)
    with ExitStack() as step:
        uas = sipp.start("baseline-uas", bench.workdir, "uas_answer.xml", [], lifetime=bench.step_lifetime())
        step.callback(procs.stop, uas.service)
        uac = sipp.start("baseline-uac", bench.workdir, "uac_hangup.xml",
                         [f"127.0.0.1:{uas.sip_port}", "-r", f"{rate:g}", "-rp", "1000", "-m", str(calls),
                          "-l", "100000", "-recv_timeout", "10000"], lifetime=bench.step_lifetime())
        step.callback(procs.stop, uac.service)
        pid, cpu_s = uac.service.server_pid, 0.0
        # sipp exits after its last call: its CPU time is read until then (the last read is at most 0.1 s old).
        deadline = time.monotonic() + seconds + 30
        while uac.service.process.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(OSError, IndexError, ValueError):
                cpu_s = processes.cpu_seconds(pid)
            time.sleep(0.1)
        wait_sipp(uas, calls, 5.0)
        procs.stop(uac.service)
        procs.stop(uas.service)
        caller, callee = uac.counters(), uas.counters()
    sent = sipp.first_times(uac.messages, [(False, "INVITE "), (True, "SIP/2.0 200")], "Call-ID")
    received = sipp.first_times(uas.messages, [(True, "INVITE ")], "Call-ID")[(True, "INVITE ")]
    invites, answers = sent[(False, "INVITE ")], sent[(True, "SIP/2.0 200")]
    failed = calls - min(caller.get("SuccessfulCall(C)", 0), callee.get("SuccessfulCall(C)", 0))
    baseline = Baseline(rate, calls, failed, achieved_rate(list(received.values())) / rate,
                        [1000 * (received[c] - invites[c]) for c in received if c in invites],
                        [1000 * (answers[c] - invites[c]) for c in answers if c in invites],
                        1000 * cpu_s / max(1, calls))
    bench.baseline = baseline
    progress(f"baseline sipp -> sipp at {rate:g}/s: {calls} calls, {failed} failed, rate kept "
             f"{baseline.sustained:.0%}, INVITE p50 {percentile(baseline.invite_ms, 50):.2f} ms p99 "
             f"{percentile(baseline.invite_ms, 99):.2f} ms, 200 OK p50 {percentile(baseline.answer_ms, 50):.2f} ms, "
             f"caller {baseline.cpu_ms:.3f} ms CPU/call")
    return Figure(f"baseline: sipp -> sipp, no server, at {rate:g}/s", rate * baseline.sustained if not failed else 0.0,
                  "calls/s", f">= {SUSTAINED_MIN * rate:g}, 0 failed", baseline.passed,
                  f"{calls} calls, {failed} failed; INVITE sent -> received p50 "
                  f"{percentile(baseline.invite_ms, 50):.2f} ms, p99 {percentile(baseline.invite_ms, 99):.2f} ms; "
                  f"INVITE -> 200 OK p50 {percentile(baseline.answer_ms, 50):.2f} ms; "
                  f"caller sipp {baseline.cpu_ms:.3f} ms CPU/call")


def idle_cpu(server: Server, seconds: float = 3.0) -> float:
    """The server's CPU per second with no call at all: its floor, shown beside its CPU per call."""
    time.sleep(1.0)  # whatever start-up left running settles first
    before = server.usage()
    time.sleep(seconds)
    after = server.usage()
    return 1000 * (after.server - before.server) / (after.at - before.at)


def _ratio(value: float, floor: float) -> str:
    return f"{value / floor:,.0f}x" if floor > 0 else "n/a"


def _latency_baseline(baseline: Baseline | None, direction: str, p50: float, p99: float) -> str:
    """The floor beside a latency: sipp's INVITE -> 200 OK round trip with no server (one SIP transaction on this
    machine, timed in one process). The one-way INVITE time is shown too, but sipp logs a message after sending
    it, so that one reads about 0 (even below) and is no use as a divisor."""
    if baseline is None:
        return ""
    floor_p50, floor_p99 = percentile(baseline.answer_ms, 50), percentile(baseline.answer_ms, 99)
    one_way = (f" (INVITE one way p50 {percentile(baseline.invite_ms, 50):.2f} ms)"
               if direction == "outbound" else "")
    return (f"; baseline sipp->sipp INVITE->200 p50 {floor_p50:.2f} ms, p99 {floor_p99:.2f} ms{one_way}; "
            f"ratio p50 {_ratio(p50, floor_p50)}, p99 {_ratio(p99, floor_p99)}")


def _cpu_baseline(baseline: Baseline | None, cpu_ms: float, idle_ms_per_s: float, rate: float) -> str:
    text = f"server idle {idle_ms_per_s:.1f} ms CPU/s (= {idle_ms_per_s / rate:.2f} ms/call at {rate:g}/s); "
    if baseline is not None:
        text += f"baseline sipp caller {baseline.cpu_ms:.3f} ms/call, ratio {_ratio(cpu_ms, baseline.cpu_ms)}; "
    return text


def failed_calls_figure(bench: Bench) -> Figure:
    """Calls that failed in any measured step (a step whose rate was not kept but lost no call counts 0)."""
    # The reasons overlap (a call sipp failed also has a bad status): a step's count is the largest of them.
    counts = [(s, max(s.failed, *s.failures.values())) for s in bench.steps]
    failed = sum(n for _, n in counts)
    worst = [f"{s.direction} {s.rate:g}/s: {n}" for s, n in counts if n]
    return Figure("failed calls, every measured step", failed, "calls", "0", failed == 0,
                  "; ".join(worst) or f"{len(bench.steps)} steps, {sum(s.offered for s in bench.steps)} calls")


# --- one step -----------------------------------------------------------------------------------------------------

def wait_final(server: Server, caller: str, expected: int, deadline_s: float) -> tuple[Counter[str], Usage]:
    """Polls the database until `expected` calls from `caller` have a final status (or the deadline passes);
    returns their statuses and the CPU used up to that moment."""
    deadline = time.monotonic() + deadline_s
    while True:
        counts = server.statuses.count(caller)
        usage = server.usage()
        settled = sum(counts.values()) >= expected and not any(counts[s] for s in dataset.LIVE)
        if settled or time.monotonic() > deadline:
            return counts, usage
        time.sleep(FINAL_POLL_S)


def wait_sipp(run: sipp.SippRun, calls: int, deadline_s: float) -> dict[str, int]:
    """Until sipp counts `calls` calls as ended (its statistics are rewritten every second)."""
    deadline = time.monotonic() + deadline_s
    while True:
        counters = run.counters()
        if counters.get("SuccessfulCall(C)", 0) + counters.get("FailedCall(C)", 0) >= calls:
            return counters
        if time.monotonic() > deadline or run.service.process.poll() is not None:
            return counters
        time.sleep(0.2)


def status_failures(counts: Counter[str], expected: int) -> dict[str, int]:
    failures = {f"status {status}": n for status, n in counts.items() if status != "completed"}
    failures["no call row"] = max(0, expected - sum(counts.values()))
    return failures


def sipp_failures(counters: dict[str, int], expected: int) -> dict[str, int]:
    failed = counters.get("FailedCall(C)", 0)
    ended = counters.get("SuccessfulCall(C)", 0) + failed
    return {"failed at sipp": failed, "unfinished at sipp": max(0, expected - ended)}


def outbound_step(bench: Bench, server: Server, rate: float, seconds: float, name: str,
                  extra_parameters: dict[str, str] | None = None) -> Step:
    """`extra_parameters` join the create request's (bench/telemetry.py asks for status callbacks)."""
    args = bench.args
    caller = bench.new_caller()
    with ExitStack() as step:
        uas = sipp.start(f"{name}-uas", bench.workdir, "uas_answer.xml", [], lifetime=bench.step_lifetime())
        step.callback(procs.stop, uas.service)
        body = {"From": caller, "To": f"sip:bench@127.0.0.1:{uas.sip_port}", "Url": bench.rcml_url,
                **(extra_parameters or {})}
        before = server.usage()
        run = generate(bench, f"{name}-callgen", f"{server.service.base_url}{API}/Accounts/{MAIN_ACCOUNT_SID}"
                       "/Calls.json", body, rate, seconds, loadgen.basic_auth(*AUTH))
        placed = run.ok
        counts, after = wait_final(server, caller, len(placed), args.settle)
        wait_sipp(uas, len(placed), 5.0)
        procs.stop(uas.service)
        counters = uas.counters()  # the line sipp writes as it exits
    invites = sipp.first_times(uas.messages, [(True, "INVITE ")], "X-RestComm-CallSid")[(True, "INVITE ")]
    offered = len(run.samples)
    failures = {"API error": offered - len(placed), **status_failures(counts, len(placed)),
                **sipp_failures(counters, len(placed)),
                "INVITE never reached sipp": sum(1 for s in placed if s.sid not in invites)}
    if run.errors:
        progress(f"load generator errors: {run.errors}")
    return Step(
        "outbound", rate, offered, counts["completed"], counters.get("SuccessfulCall(C)", 0), failures,
        achieved_rate(list(invites.values())) / rate, *after.since(before, offered),
        [1000 * (invites[s.sid] - s.sent) for s in placed if s.sid in invites],
        [1000 * (s.done - s.sent) for s in placed], run.lag_p99_ms)


def inbound_step(bench: Bench, server: Server, rate: float, seconds: float, name: str) -> Step:
    args = bench.args
    caller = bench.new_caller()
    calls = round(rate * seconds)
    sipp_args = [f"127.0.0.1:{server.sip_port}", "-s", NUMBER, "-key", "caller", caller, "-r", f"{rate:g}",
                 "-rp", "1000", "-m", str(calls), "-l", "100000",
                 # A call the server leaves waiting this long (for its 200 OK or BYE) fails.
                 "-recv_timeout", str(int(args.settle * 1000))]
    with ExitStack() as step:
        before = server.usage()
        uac = sipp.start(f"{name}-uac", bench.workdir, "uac_call.xml", sipp_args, lifetime=bench.step_lifetime())
        step.callback(procs.stop, uac.service)
        with contextlib.suppress(subprocess.TimeoutExpired):  # whatever is unfinished by then counts as failed
            uac.service.process.wait(seconds + args.settle + 10)
        counts, after = wait_final(server, caller, calls, 5.0)
        procs.stop(uac.service)
        counters = uac.counters()
    times = sipp.first_times(uac.messages, [(False, "INVITE "), (True, "SIP/2.0 200")], "Call-ID")
    sent, answered = times[(False, "INVITE ")], times[(True, "SIP/2.0 200")]
    failures = {**status_failures(counts, calls), **sipp_failures(counters, calls),
                "INVITE not sent by sipp": calls - len(sent)}
    if counters.get("FailedCall(C)"):
        progress(f"sipp errors: {uac.error_excerpt()}")
    return Step(
        "inbound", rate, calls, counts["completed"], counters.get("SuccessfulCall(C)", 0), failures,
        achieved_rate(list(answered.values())) / rate, *after.since(before, calls),
        [1000 * (answered[c] - sent[c]) for c in answered if c in sent])


StepRunner = Callable[[Bench, Server, float, float, str], Step]


def ramp(bench: Bench, server: Server, direction: str, rates: Sequence[float]) -> list[Step]:
    runner: StepRunner = outbound_step if direction == "outbound" else inbound_step
    steps: list[Step] = []
    for rate in rates:
        name = f"{server.kind.lower()}-{direction}-{rate:g}"
        step = runner(bench, server, rate, bench.args.seconds, name)
        progress(f"{server.kind} {step.describe()}")
        steps.append(step)
        bench.steps.append(step)
        if not step.passed and not bench.args.keep_going:
            break
        time.sleep(PAUSE_BETWEEN_STEPS_S)
    return steps


# --- figures --------------------------------------------------------------------------------------------------------

def reference_step(steps: list[Step], target: float) -> Step:
    """The step latency is quoted at (both directions): the target rate if it passed, else the fastest that
    passed, so that outbound and inbound are compared at the same rate whenever possible."""
    passed = [s for s in steps if s.passed]
    at_target = [s for s in passed if s.rate == target]
    return (at_target or passed[-1:] or steps[:1])[0]


def direction_figures(kind: str, direction: str, ramps: list[list[Step]], target: float | None,
                      baseline: Baseline | None = None, idle_ms_per_s: float = 0.0) -> list[Figure]:
    """The figures of one direction on one database, each the median over the runs (--runs)."""
    label = f"{direction}, {kind}"
    highest = [max((s.rate for s in steps if s.passed), default=0.0) for steps in ramps]
    references = [reference_step(steps, TARGET_CPS) for steps in ramps]
    p50 = [percentile(r.latency_ms, 50) for r in references]
    p99 = [percentile(r.latency_ms, 99) for r in references]
    what = "API request sent -> INVITE at sipp" if direction == "outbound" else "INVITE -> 200 OK at sipp"
    latency_detail = f"p99 {statistics.median(p99):.1f} ms at {_rates_text(r.rate for r in references)}/s"
    if references[0].api_ms:
        api_p50 = statistics.median(percentile(r.api_ms, 50) for r in references)
        api_p99 = statistics.median(percentile(r.api_ms, 99) for r in references)
        latency_detail += f"; API response p50 {api_p50:.1f} ms, p99 {api_p99:.1f} ms"
    if len(ramps) > 1:
        latency_detail += f"; p50 of each run: {', '.join(f'{v:.1f}' for v in p50)}"
    else:
        by_step = ", ".join(f"{s.rate:g}/s {percentile(s.latency_ms, 50):.0f}" for s in ramps[0] if s.passed)
        latency_detail += f"; p50 ms by passed step: {by_step}"
    steps = [step for ramp_steps in ramps for step in ramp_steps]
    cpu = [s.cpu_ms for s in steps]
    cpu_median = statistics.median(cpu)
    share = statistics.median(r.core_share for r in references)
    database = [s.database_cpu_ms for s in steps if s.database_cpu_ms]
    database_text = f"; PostgreSQL backends {statistics.median(database):.2f} ms/call more" if database else ""
    return [
        Figure(f"{label}: highest rate, 0 failed calls", statistics.median(highest), "calls/s",
               f">= {target:g}" if target else "", statistics.median(highest) >= target if target else None,
               _ramps_detail(ramps, highest)),
        Figure(f"{label}: {what}, p50", statistics.median(p50), "ms",
               detail=latency_detail + _latency_baseline(baseline, direction, statistics.median(p50),
                                                         statistics.median(p99))),
        Figure(f"{label}: server CPU per call", cpu_median, "ms",
               detail=_cpu_baseline(baseline, cpu_median, idle_ms_per_s, references[0].rate) +
                      f"{len(cpu)} steps: {min(cpu):.2f}-{max(cpu):.2f}; one core = {1000 / cpu_median:.0f} calls/s; "
                      f"{share:.0%} of a core at {_rates_text(r.rate for r in references)}/s{database_text}"),
    ]


def _rates_text(rates: Iterable[float]) -> str:
    return ",".join(sorted({f"{r:g}" for r in rates}, key=float))


def _ramps_detail(ramps: list[list[Step]], highest: list[float]) -> str:
    """Every step of a single run; with several runs, each run's highest rate and its first failed step."""
    if len(ramps) == 1:
        text = "; ".join(s.summary() for s in ramps[0])
    else:
        failed = [next((s.summary() for s in steps if not s.passed), "none failed") for steps in ramps]
        text = f"runs: {', '.join(f'{h:g}' for h in highest)}; first failed step of each: {'; '.join(failed)}"
    lags = [s.generator_lag_p99_ms for steps in ramps for s in steps if s.direction == "outbound"]
    if lags:
        text += f"; generator lag p99 <= {max(lags):.1f} ms"
    return text


def add_number(server: Server, voice_url: str) -> None:
    response = httpx.post(f"{server.service.base_url}{API}/Accounts/{MAIN_ACCOUNT_SID}/IncomingPhoneNumbers.json",
                          data={"PhoneNumber": NUMBER, "VoiceUrl": voice_url, "VoiceMethod": "POST"}, auth=AUTH,
                          timeout=10)
    if response.status_code != 201:
        raise RuntimeError(f"creating {NUMBER}: HTTP {response.status_code} {response.text[:300]}")


def database_figures(bench: Bench, kind: str) -> list[Figure]:
    args = bench.args
    figures: list[Figure] = []
    with ExitStack() as stack:
        server = bench.start_server(kind, stack)
        server.idle_ms_per_s = idle_cpu(server)
        progress(f"{server.kind}: server up (pid {server.service.server_pid}), SIP on {server.sip_port}, "
                 f"idle {server.idle_ms_per_s:.1f} ms CPU/s")
        # The rate each direction is profiled at (--profile): the one latency is quoted at.
        profile_rates: dict[str, float] = {}
        directions = [d for d in ("outbound", "inbound") if args.only in (None, d)]
        if "inbound" in directions:
            add_number(server, bench.rcml_url)
        ramps: dict[str, list[list[Step]]] = {d: [] for d in directions}
        # Runs alternate the directions, so that load drifting on a shared machine hits both alike.
        for run in range(args.runs):
            for direction in directions:
                if args.runs > 1:
                    progress(f"{server.kind} {direction}: run {run + 1} of {args.runs}")
                rates = args.rates if direction == "outbound" else args.inbound_rates
                ramps[direction].append(ramp(bench, server, direction, rates))
        for direction, runs in ramps.items():
            target = TARGET_CPS if direction == "outbound" else None
            figures += direction_figures(server.kind, direction, runs, target, bench.baseline, server.idle_ms_per_s)
            profile_rates[direction] = reference_step(runs[-1], TARGET_CPS).rate
        if args.profile:
            profile(bench, server, profile_rates)
        progress(f"{server.kind}: stopping the server")
    return figures


# --- profiling (--profile) -------------------------------------------------------------------------------------

def profile(bench: Bench, server: Server, rates: dict[str, float]) -> None:
    """One more step per direction, at the rate its latency is quoted at (a rate the server sustains, so the
    profile shows the work of a call rather than queueing), with py-spy sampling the server."""
    args = bench.args
    args.profile.mkdir(parents=True, exist_ok=True)
    runners: dict[str, StepRunner] = {"outbound": outbound_step, "inbound": inbound_step}
    pid = server.service.server_pid
    for direction, rate in rates.items():
        name = f"profile-{server.kind.lower()}-{direction}"
        out = args.profile / f"{server.kind.lower()}-{direction}.txt"
        with ExitStack() as stack:
            recorder = call_profile.start(pid, args.seconds + 2, out)
            stack.callback(call_profile.stop, recorder)  # on an error or Ctrl-C; a no-op once it has finished
            before = call_profile.thread_cpu(pid)
            step = runners[direction](bench, server, rate, args.seconds, name)
            after = call_profile.thread_cpu(pid)
            call_profile.finish(recorder, args.seconds)  # py-spy writes its output as it exits
        progress(f"{server.kind} under py-spy (not a measured figure): {step.describe()}")
        progress(call_profile.summarize(out, before, after, step.offered, args.seconds))


# --- main ---------------------------------------------------------------------------------------------------------

def run(args: argparse.Namespace, figures: list[Figure]) -> None:
    sipp.require_sipp()
    loadgen.require_wrk()
    top_rate = max(args.rates + args.inbound_rates)
    with ExitStack() as stack:
        workdir = procs.workdir(stack, args.keep_files, "bench-calls-")
        bench = Bench(args, stack, workdir)
        bench.start_rcml_app()
        figures.append(check_rcml_app(bench, top_rate))
        if args.only in (None, "outbound"):
            figures.append(check_generator(bench, max(args.rates)))
        figures.append(check_sipp_baseline(bench, top_rate))
        for kind in args.databases.split(","):
            try:
                figures.extend(database_figures(bench, kind.strip()))
            except RuntimeError as error:  # this server would not start: say why, measure the next database
                lines = [line.strip() for line in str(error).splitlines() if line.strip()]
                # The exception's own last line (`sqlite3.OperationalError: ...`), not uvicorn's "startup failed".
                reason = next((line for line in reversed(lines) if "Error:" in line and not line.startswith("ERROR:")),
                              lines[-1] if lines else repr(error))
                progress(f"{kind}: {error}")
                figures.append(Figure(f"{kind.strip()}: server started", 0.0, "", "starts", False, reason[:200]))
        figures.append(failed_calls_figure(bench))
        progress("stopping the RCML app")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_and_report(lambda figures: run(args, figures))


if __name__ == "__main__":
    sys.exit(main())

"""The live-call-modification benchmark, in one command: `.venv/bin/python -m bench.lcm` (issue 6).

With `--live` answered calls (and `--ringing` ringing ones) on one `restcomm serve` process, how long from
the modification request leaving the client to its effect on the wire:

- redirect (`Url=`): the new RCML document's fetch reaching the customer's application;
- hang up (`Status=completed`) of an answered call: the BYE reaching the phone;
- cancel (`Status=canceled`) of a ringing call: the CANCEL reaching the phone.

Baseline, in the same run and interleaved with the modifications: the authenticated GET of the same call.
Exits 0 when every target passes; 1 when one fails, which includes any failed modification and any call
that ended in a status other than the one asked for.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench.api import API, AUTH, READY_PATH
from bench.callgen import MAX_IDLE_S, Connection, build_request, exchange
from bench.dataset import MAIN_ACCOUNT_SID
from bench.harness import loadgen, procs
from bench.harness.percentiles import percentile
from bench.harness.report import Figure, all_passed, format_table, progress, stop_on_signals
from testkit import processes
from testkit.ports import free_port

P50_TARGET_MS = 20.0
P99_TARGET_MS = 100.0
KINDS = ("redirect", "completed", "canceled")
# What each kind waits for at the far end, and the status the API must show after it.
EFFECT = {"redirect": "new RCML fetch at the app", "completed": "BYE at the phone", "canceled": "CANCEL at the phone"}
LABEL = {"redirect": "redirect (Url=)", "completed": "hang up (Status=completed)",
         "canceled": "cancel (Status=canceled)"}
STATUS_AFTER = {"redirect": "in-progress", "completed": "completed", "canceled": "canceled"}
FROM = "+15550106000"
IDLE_CPU_S = 3.0
REQUEST_TIMEOUT_S = 10.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.lcm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 modifications of each kind: about a minute")
    parser.add_argument("--per-kind", type=int, help="modifications of each kind [300; 60 with --quick]")
    parser.add_argument("--live", type=int, default=100, help="answered calls kept live [%(default)s]")
    parser.add_argument("--ringing", type=int, default=10, help="ringing calls kept live, for cancel [%(default)s]")
    parser.add_argument("--rate", type=float, default=5.0,
                        help="modifications per second, one at a time, in a random order of kinds [%(default)s]")
    parser.add_argument("--setup-rate", type=float, default=50.0, help="calls/s placed at start [%(default)s]")
    parser.add_argument("--effect-timeout", type=float, default=5.0,
                        help="seconds a modification's effect may take before it counts as failed [%(default)s]")
    parser.add_argument("--seed", type=int, default=6, help="random choice of calls and order of kinds")
    parser.add_argument("--rtp-ports", default="44000-45999", help="the server's RTP port range [%(default)s]")
    parser.add_argument("--keep-files", type=Path, metavar="DIR",
                        help="write the server's log, the phones' events and the samples to DIR and keep them")
    parser.add_argument("--lifetime", type=float, default=600.0,
                        help="hard bound, in seconds, on the run and on every process it starts [%(default)s]")
    args = parser.parse_args(argv)
    args.per_kind = args.per_kind or (60 if args.quick else 300)
    return args


def ms(ns: int) -> float:
    return ns / 1e6


def item_path(sid: str) -> str:
    return f"{API}/Accounts/{MAIN_ACCOUNT_SID}/Calls/{sid}.json"


def modify_path(sid: str) -> str:
    return f"{API}/Accounts/{MAIN_ACCOUNT_SID}/Calls.json/{sid}"


CREATE_PATH = f"{API}/Accounts/{MAIN_ACCOUNT_SID}/Calls.json"


# --- processes ------------------------------------------------------------------------------------------------

def start_server(workdir: Path, rtp_ports: str, lifetime: float) -> procs.Service:
    port, sip_port = free_port(), free_port(socket.SOCK_DGRAM)
    argv = [*procs.restcomm_command(), "serve", "--http-port", str(port),
            "--database-url", f"sqlite://{workdir / 'restcomm.sqlite3'}", "--sip-host", "127.0.0.1",
            "--sip-port", str(sip_port), "--rtp-ports", rtp_ports, "--node-id", f"bench-lcm-{sip_port}",
            "--log-level", "info", "--no-validate-responses",
            # The phones (bench/lcm_peer.py) send no RTP, and a run keeps its calls up for minutes: the RTP
            # timeout would hang them up after a minute, in the middle of the measurements.
            "--rtp-timeout-seconds", "0"]
    # In the scratch directory: nothing the server writes lands in the project.
    return procs.start_service("restcomm", argv, port, workdir, lifetime=lifetime, cwd=workdir)


def start_peer(workdir: Path, lifetime: float) -> procs.Service:
    """bench/lcm_peer.py, its events on a pipe; it also stops when its stdin closes (we died)."""
    log_path = workdir / "peer.log"
    with log_path.open("wb") as log:
        process = processes.start([sys.executable, "-m", "bench.lcm_peer"], lifetime_s=lifetime,
                                  stdin=subprocess.PIPE, output=subprocess.PIPE, stderr=log, cwd=procs.PROJECT_ROOT)
    return procs.Service("phones+app", process, 0, log_path)


# --- the far ends' events -------------------------------------------------------------------------------------

@dataclass
class Events:
    """What bench/lcm_peer.py saw, keyed by (event, call SID) or ("fetch", path); waited for by key."""

    log: Path
    seen: dict[tuple[str, str], dict] = field(default_factory=dict)
    waiters: dict[tuple[str, str], asyncio.Future] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)  # calls whose INVITE came and that have not ended
    answered: set[str] = field(default_factory=set)  # calls whose ACK came (to 200 OK, or to 487 after CANCEL)
    expected_ends: set[str] = field(default_factory=set)
    unexpected: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    ready: asyncio.Future | None = None
    stats: dict = field(default_factory=dict)

    async def read(self, reader: asyncio.StreamReader) -> None:
        with self.log.open("w") as log:
            while line := await reader.readline():
                log.write(line.decode())
                self.add(json.loads(line))

    def add(self, event: dict) -> None:
        kind = event["e"]
        if kind == "ready":
            if self.ready is not None and not self.ready.done():
                self.ready.set_result(event)
            return
        if kind == "stats":
            self.stats = event
            return
        if kind == "error":
            self.errors.append(event["what"])
            return
        sid = event.get("sid", "")
        if kind == "invite":
            self.live.add(sid)
        elif kind in ("bye", "cancel"):
            self.live.discard(sid)
            if sid not in self.expected_ends:
                self.unexpected.append(f"{kind} of {sid} that nobody asked for")
        elif kind == "ack":
            self.answered.add(sid)
        key = (kind, sid)
        if kind == "fetch":
            # A call's first document is known by its SID (the path is shared); a redirect's by its own path.
            key = ("fetch-start", sid) if event["path"] == "/rcml/start" else ("fetch", event["path"])
            if not event["path"].startswith("/rcml/"):
                self.errors.append(f"unexpected request for {event['path']}")
        self.seen.setdefault(key, event)
        waiter = self.waiters.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(event)

    async def wait(self, key: tuple[str, str], within_s: float) -> dict:
        """The event, or TimeoutError after `within_s` seconds."""
        if key in self.seen:
            return self.seen[key]
        waiter = self.waiters.setdefault(key, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(asyncio.shield(waiter), within_s)


# --- the API client -------------------------------------------------------------------------------------------

class ApiError(RuntimeError):
    pass


@dataclass
class Api:
    """One kept-alive HTTP/1.1 connection with raw requests (bench/callgen.py's client): the time taken just
    before a request is written is the time it left, with no client library in between."""

    port: int
    connection: Connection | None = None
    authorization: str = loadgen.basic_auth(*AUTH)

    async def request(self, method: str, path: str, body: str = "") -> tuple[int, dict, int, int]:
        """(HTTP status, JSON body, monotonic ns just before sending, monotonic ns once answered)."""
        if method == "POST":
            payload = build_request(f"http://127.0.0.1:{self.port}{path}", body, self.authorization)
        else:
            payload = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                       f"Authorization: {self.authorization}\r\n\r\n").encode()
        connection = self.connection
        if connection is None or time.monotonic() - connection.last_used > MAX_IDLE_S:
            if connection is not None:
                connection.writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            connection = self.connection = Connection(reader, writer)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                sent = time.monotonic_ns()
                status, raw, reusable = await exchange(connection, payload)
                done = time.monotonic_ns()
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            connection.writer.close()
            self.connection = None
            raise ApiError(f"{method} {path}: {exc!r}") from None
        connection.last_used = time.monotonic()
        if not reusable:
            connection.writer.close()
            self.connection = None
        try:
            document = json.loads(raw) if raw.startswith(b"{") else {}
        except ValueError:
            document = {}
        if status != 200:
            raise ApiError(f"{method} {path} -> {status} {raw[:200]!r}")
        return status, document, sent, done

    def close(self) -> None:
        if self.connection is not None:
            self.connection.writer.close()
            self.connection = None


# --- the run --------------------------------------------------------------------------------------------------

@dataclass
class Sample:
    kind: str
    effect_ms: float  # request sent -> effect at the far end
    response_ms: float  # request sent -> API response
    read_delay_ms: float  # far end: kernel receive -> the peer process reading it (SIP only)


@dataclass
class Run:
    args: argparse.Namespace
    server: procs.Service
    events: Events
    sip_port: int
    app_url: str
    rng: random.Random
    expected: dict[str, str] = field(default_factory=dict)  # call SID -> the final status it must end in
    answered: list[str] = field(default_factory=list)
    ringing: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    baseline_ms: list[float] = field(default_factory=list)
    live_samples: list[int] = field(default_factory=list)  # calls live at the phones, before each modification
    answered_samples: list[int] = field(default_factory=list)  # of those, answered
    failures: list[str] = field(default_factory=list)
    placed: int = 0
    setup_ms: list[float] = field(default_factory=list)

    async def place(self, api: Api, user: str) -> str:
        body = {"From": FROM, "To": f"sip:{user}@127.0.0.1:{self.sip_port}", "Url": f"{self.app_url}/rcml/start"}
        if user == "ring":
            body["Timeout"] = "600"
        _, document, _, _ = await api.request("POST", CREATE_PATH, urlencode(body))
        sid = document["sid"]
        self.placed += 1
        # A call ends hung up by us unless a measured modification says otherwise.
        self.expected[sid] = "completed" if user == "answer" else "canceled"
        return sid

    async def ready(self, sid: str, user: str, sent_ns: int) -> None:
        """Until the call is in the state a modification expects: answered and running the Pause document
        (ACK and the first fetch reached the far ends), or ringing (the INVITE reached the phone, which
        answers 180 at once)."""
        timeout = self.args.effect_timeout * 2
        if user == "answer":
            await self.events.wait(("ack", sid), timeout)
            fetch = await self.events.wait(("fetch-start", sid), timeout)
            self.setup_ms.append(ms(fetch["t"] - sent_ns))
        else:
            await self.events.wait(("invite", sid), timeout)

    async def place_ready(self, api: Api, user: str) -> str:
        sent = time.monotonic_ns()
        sid = await self.place(api, user)
        await self.ready(sid, user, sent)
        (self.answered if user == "answer" else self.ringing).append(sid)
        return sid

    async def setup(self, api: Api) -> None:
        users = ["answer"] * self.args.live + ["ring"] * self.args.ringing
        self.rng.shuffle(users)
        progress(f"placing {self.args.live} calls that the phone answers and {self.args.ringing} that ring")
        loop = asyncio.get_running_loop()
        start = loop.time()
        pending = []
        for i, user in enumerate(users):
            await asyncio.sleep(max(0.0, start + i / self.args.setup_rate - loop.time()))
            sent = time.monotonic_ns()
            sid = await self.place(api, user)
            pending.append((sid, user, sent))
        for sid, user, sent in pending:
            await self.ready(sid, user, sent)
            (self.answered if user == "answer" else self.ringing).append(sid)
        progress(f"{len(self.answered)} answered calls run <Pause length=\"600\"/>, {len(self.ringing)} ring; "
                 f"call setup (API request -> first RCML fetch) p50 {percentile(self.setup_ms, 50):.1f} ms")

    async def server_live(self, api: Api) -> str:
        counts = []
        for status in ("in-progress", "ringing"):
            _, document, _, _ = await api.request("GET", f"{CREATE_PATH}?{urlencode({'Status': status})}&PageSize=1")
            counts.append(f"{document.get('total')} {status}")
        return " + ".join(counts)

    async def modify(self, api: Api, setup_api: Api, index: int, kind: str) -> None:
        pool = self.ringing if kind == "canceled" else self.answered
        sid = self.rng.choice(pool)
        self.live_samples.append(len(self.events.live))
        self.answered_samples.append(len(self.events.live & self.events.answered))
        # The baseline: the same call read back, on the same connection, just before it is modified.
        _, document, sent, done = await api.request("GET", item_path(sid))
        if document.get("sid") != sid:
            raise ApiError(f"GET {sid} answered another call: {document.get('sid')}")
        self.baseline_ms.append(ms(done - sent))
        if kind == "redirect":
            path = f"/rcml/redirect/{index}"
            body, key = urlencode({"Url": self.app_url + path}), ("fetch", path)
        else:
            body, key = f"Status={kind}", ("bye" if kind == "completed" else "cancel", sid)
            self.events.expected_ends.add(sid)
            self.expected[sid] = kind
            pool.remove(sid)
        _, document, sent, done = await api.request("POST", modify_path(sid), body)
        if document.get("status") != STATUS_AFTER[kind]:
            self.failures.append(f"{kind} {sid}: the API answered status {document.get('status')!r}")
        try:
            event = await self.events.wait(key, self.args.effect_timeout)
        except TimeoutError:
            self.failures.append(f"{kind} {sid}: no {EFFECT[kind]} within {self.args.effect_timeout} s")
            return
        if kind == "redirect" and event.get("sid") != sid:
            self.failures.append(f"redirect {sid}: the new document was fetched for {event.get('sid')}")
        read_delay = ms(event["u"] - event["t"]) if kind != "redirect" else 0.0
        self.samples.append(Sample(kind, ms(event["t"] - sent), ms(done - sent), read_delay))
        if kind != "redirect":
            # Keep the number of live calls: a replacement, placed on another connection and set up before
            # the next modification is due.
            await self.place_ready(setup_api, "answer" if kind == "completed" else "ring")

    async def measure(self, api: Api, setup_api: Api) -> tuple[str, str]:
        kinds = [kind for kind in KINDS for _ in range(self.args.per_kind)]
        self.rng.shuffle(kinds)
        at_start = await self.server_live(api)
        progress(f"server: {at_start}; {len(kinds)} modifications at {self.args.rate:g}/s, one at a time")
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, kind in enumerate(kinds):
            await asyncio.sleep(max(0.0, start + index / self.args.rate - loop.time()))
            try:
                await self.modify(api, setup_api, index, kind)
            except (ApiError, TimeoutError) as exc:
                self.failures.append(f"{kind}: {exc}")
            if (index + 1) % max(1, len(kinds) // 5) == 0:
                done = [s.effect_ms for s in self.samples]
                progress(f"{index + 1}/{len(kinds)} modifications, effect p50 {percentile(done, 50):.1f} ms, "
                         f"{len(self.events.live)} calls live, {len(self.failures)} failed")
        at_end = await self.server_live(api)
        return at_start, at_end

    async def hang_up_the_rest(self, api: Api) -> None:
        progress(f"hanging up the {len(self.answered)} answered calls left, cancelling the {len(self.ringing)} ringing")
        for pool, status, event in ((self.answered, "completed", "bye"), (self.ringing, "canceled", "cancel")):
            for sid in list(pool):
                self.events.expected_ends.add(sid)
                try:
                    await api.request("POST", modify_path(sid), f"Status={status}")
                except ApiError as exc:
                    self.failures.append(f"final {status}: {exc}")
            for sid in list(pool):
                try:
                    await self.events.wait((event, sid), self.args.effect_timeout)
                except TimeoutError:
                    self.failures.append(f"final {status} {sid}: no {event.upper()} at the phone")
            pool.clear()


def final_statuses(database: Path, expected: dict[str, str], within_s: float = 15.0) -> Counter[str]:
    """Once no call is live any more (or `within_s` passed): each call's status read from the database
    (read-only, beside the running server), counted as 'ok' or 'SID: status (expected ...)'."""
    deadline = time.monotonic() + within_s
    while True:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)) as db:
            rows = dict(db.execute("SELECT sid, status FROM calls WHERE from_address = ?", (FROM,)).fetchall())
        live = [sid for sid, status in rows.items() if status in ("queued", "initiated", "ringing", "in-progress")]
        if not live or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    verdicts: Counter[str] = Counter()
    for sid, status in expected.items():
        actual = rows.get(sid)
        verdicts["ok" if actual == status else f"{actual} where {status} was asked"] += 1
    verdicts["calls in the database nobody placed"] += len(set(rows) - set(expected))
    return verdicts


async def run_async(args: argparse.Namespace, server: procs.Service, peer: procs.Service,
                    workdir: Path) -> tuple[Run, dict]:
    loop = asyncio.get_running_loop()
    events = Events(workdir / "phones-events.jsonl")
    events.ready = loop.create_future()
    reader = asyncio.StreamReader(limit=1 << 20)
    assert peer.process.stdout is not None
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), peer.process.stdout)
    reading = asyncio.create_task(events.read(reader))
    api, setup_api = Api(server.port), Api(server.port)
    info: dict = {}
    try:
        ready = await asyncio.wait_for(events.ready, 10)
        run = Run(args, server, events, ready["sip"], f"http://127.0.0.1:{ready['http']}", random.Random(args.seed))
        await run.setup(setup_api)
        before = server.cpu_seconds()
        await asyncio.sleep(IDLE_CPU_S)
        info["idle_cpu"] = (server.cpu_seconds() - before) / IDLE_CPU_S
        info["live_at_idle"] = len(events.live)
        info["at_start"], info["at_end"] = await run.measure(api, setup_api)
        await run.hang_up_the_rest(setup_api)
        return run, info
    finally:
        api.close()
        setup_api.close()
        # Closing its stdin tells the peer to write its counters and exit.
        with contextlib.suppress(OSError):
            assert peer.process.stdin is not None
            peer.process.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reading, 5)
        reading.cancel()
        transport.close()


# --- figures --------------------------------------------------------------------------------------------------

def latency_table(run: Run) -> str:
    header = ("measured", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "API response p50 / p99 ms")
    rows = []
    for kind in KINDS:
        effect = [s.effect_ms for s in run.samples if s.kind == kind]
        response = [s.response_ms for s in run.samples if s.kind == kind]
        rows.append((f"{LABEL[kind]}: request -> {EFFECT[kind]}", str(len(effect)),
                     *(f"{percentile(effect, p):.2f}" for p in (50, 90, 99, 100)),
                     f"{percentile(response, 50):.2f} / {percentile(response, 99):.2f}"))
    base = run.baseline_ms
    rows.append(("baseline: GET Calls/{sid}.json, request -> response", str(len(base)),
                 *(f"{percentile(base, p):.2f}" for p in (50, 90, 99, 100)), ""))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if i in (0, 6) else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in (header, *rows)]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def figures(run: Run, info: dict, verdicts: Counter[str]) -> list[Figure]:
    base_p50 = percentile(run.baseline_ms, 50)
    result: list[Figure] = []
    for kind in KINDS:
        samples = [s for s in run.samples if s.kind == kind]
        effect = [s.effect_ms for s in samples]
        p50, p99 = percentile(effect, 50), percentile(effect, 99)
        read = ("" if kind == "redirect" else
                f"; the phone process read it {percentile([s.read_delay_ms for s in samples], 50):.2f} ms "
                f"(p50) after the kernel got it")
        result += [
            Figure(f"{LABEL[kind]}: request -> {EFFECT[kind]}, p50", p50, "ms", f"< {P50_TARGET_MS:.0f}",
                   bool(effect) and p50 < P50_TARGET_MS,
                   f"p90 {percentile(effect, 90):.1f} ms, max {percentile(effect, 100):.1f} ms, {len(effect)} of "
                   f"{run.args.per_kind}{read}"),
            Figure(f"{LABEL[kind]}: p99", p99, "ms", f"< {P99_TARGET_MS:.0f}", bool(effect) and p99 < P99_TARGET_MS,
                   f"API response p50 {percentile([s.response_ms for s in samples], 50):.1f} ms, "
                   f"p99 {percentile([s.response_ms for s in samples], 99):.1f} ms"),
            Figure(f"{LABEL[kind]}: p50 / baseline p50", p50 / base_p50, "x"),
        ]
    live, answered = run.live_samples, run.answered_samples
    wrong = {why: n for why, n in verdicts.items() if why != "ok" and n}
    result += [
        Figure("baseline: authenticated GET Calls/{sid}.json, p50", base_p50, "ms",
               detail=f"p90 {percentile(run.baseline_ms, 90):.1f}, p99 {percentile(run.baseline_ms, 99):.1f}, max "
                      f"{percentile(run.baseline_ms, 100):.1f} ms; the call about to be modified, same connection"),
        Figure("live calls during the modifications, fewest", min(live) if live else 0, "calls",
               f">= {run.args.live}", bool(live) and min(live) >= run.args.live,
               f"of them answered: fewest {min(answered) if answered else 0}, median "
               f"{statistics.median(answered) if answered else 0:g} (counted at the phones before each "
               f"modification); server before: {info.get('at_start')}, after: {info.get('at_end')}"),
        Figure(f"server CPU with {info.get('live_at_idle', 0)} live calls and no request",
               100 * info.get("idle_cpu", 0), "% core", detail=f"over {IDLE_CPU_S:g} s before the modifications"),
        Figure("failed modifications", len(run.failures), "", "0", not run.failures,
               "; ".join(run.failures[:3]) + (f" (+{len(run.failures) - 3})" if len(run.failures) > 3 else "")),
        Figure("calls ended in a wrong status", sum(wrong.values()) + len(run.events.unexpected), "", "0",
               not wrong and not run.events.unexpected,
               "; ".join([f"{verdicts.get('ok', 0)} of {run.placed} calls ended as asked",
                          *(f"{n} {why}" for why, n in wrong.items()), *run.events.unexpected[:3]])),
    ]
    if run.events.errors:
        result.append(Figure("far-end errors", len(run.events.errors), "", "0", False, run.events.errors[0]))
    return result


# --- main -----------------------------------------------------------------------------------------------------

def run(args: argparse.Namespace, stack: ExitStack) -> tuple[list[Figure], str]:
    workdir = procs.workdir(stack, args.keep_files, "bench-lcm-")
    peer = start_peer(workdir, args.lifetime)
    stack.callback(procs.stop, peer)
    server = start_server(workdir, args.rtp_ports, args.lifetime)
    stack.callback(procs.stop, server)
    procs.wait_ready(server, READY_PATH, AUTH)
    progress(f"server ready on HTTP {server.port}, log {server.log_path}")

    async def bounded() -> tuple[Run, dict]:
        async with asyncio.timeout(args.lifetime - 30):
            return await run_async(args, server, peer, workdir)

    measured, info = asyncio.run(bounded())
    verdicts = final_statuses(workdir / "restcomm.sqlite3", measured.expected)
    if args.keep_files:
        (workdir / "samples.json").write_text(json.dumps({
            "samples": [s.__dict__ for s in measured.samples], "baseline_ms": measured.baseline_ms,
            "live": measured.live_samples, "failures": measured.failures}))
    errors = [line for line in server.log_tail(100_000).splitlines() if "Traceback" in line or " ERROR " in line]
    if errors:
        progress(f"the server logged {len(errors)} errors, first: {errors[0]}")
    return figures(measured, info, verdicts), latency_table(measured)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_signals()
    try:
        with ExitStack() as stack:
            result, table = run(args, stack)
            progress("stopping the server and the phones")
    except KeyboardInterrupt:
        progress("interrupted: every process started was stopped")
        return 130
    print(table + "\n", flush=True)
    print(format_table(result), flush=True)
    return 0 if all_passed(result) else 1


if __name__ == "__main__":
    sys.exit(main())

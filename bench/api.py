"""The API-core benchmark, in one command: `.venv/bin/python -m bench.api` (see bench/README.md).

- item: throughput of the authenticated `GET .../Calls/{CallSid}.json` on one `restcomm serve` worker, on
  SQLite and on PostgreSQL, beside a bare Starlette route reading the same rows (bench/baseline.py), and of the
  same GET through the Twilio dialect (`/2010-04-01/...`), as a ratio to the RestComm dialect's.
- list: p50 latency of `Calls.json` pages over `--calls` rows in PostgreSQL: the first page, a deep page by
  `AfterSid` and by `Page=` (offset), and a `From=` + `Status=` filtered page.

Exits 0 when every target passes, 1 when one fails.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import re
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from bench import dataset, latency
from bench.dataset import MAIN_ACCOUNT_SID, MAIN_AUTH_TOKEN, LoadTimes
from bench.explain import ListQuery, explain
from bench.harness import loadgen, procs, profiling
from bench.harness.report import Figure, all_passed, progress, run_and_report
from testkit import postgres
from testkit.ports import free_port

API = "/restcomm/2012-04-24"
AUTH = (MAIN_ACCOUNT_SID, MAIN_AUTH_TOKEN)
# Answers 200 only once migrations ran and the default account is seeded: the server is ready.
READY_PATH = f"{API}/Accounts/{MAIN_ACCOUNT_SID}.json"
ITEM_TARGET_RPS = 1000.0
# The Twilio dialect's item GET against the RestComm dialect's, same server, same run (issue 17).
TWILIO_MIN_RATIO = 0.9
LIST_TARGET_MS = 50.0
AFTER_SID_MAX_FACTOR = 1.5
LOAD_TARGET_S = 120.0
FILTER_STATUS = "completed"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("item", "list"), help="run one part only")
    parser.add_argument("--calls", type=int, default=1_000_000, help="calls loaded into PostgreSQL [%(default)s]")
    parser.add_argument("--sqlite-calls", type=int, default=100_000,
                        help="calls loaded into SQLite for the item part, at most --calls [%(default)s]")
    parser.add_argument("--postgres", default=postgres.ADMIN_URL,
                        help="an existing database to connect to; a throwaway one is created beside it")
    parser.add_argument("--databases", default="sqlite,postgres",
                        help="databases of the item part, comma-separated [%(default)s]")
    parser.add_argument("--runs", type=int, default=5, help="measured wrk runs per target [%(default)s]")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run [%(default)s]")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of wrk warm-up per target [%(default)s]")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections [%(default)s]")
    parser.add_argument("--item-sids", type=int, default=1000, help="distinct calls wrk cycles through [%(default)s]")
    parser.add_argument("--samples", type=int, default=100, help="sequential requests per list query [%(default)s]")
    parser.add_argument("--page", type=int, default=10_000, help="the deep page of the list part [%(default)s]")
    parser.add_argument("--page-size", type=int, default=50, help="[%(default)s]")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of the list queries (done anyway when one misses its target)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="also profile the server with py-spy in extra runs; write collapsed stacks to DIR")
    parser.add_argument("--lifetime", type=float, default=3600.0,
                        help="hard bound, in seconds, on the life of every server started [%(default)s]")
    return parser.parse_args(argv)


# --- databases and servers ------------------------------------------------------------------------------

@dataclass
class Database:
    kind: str  # "SQLite" or "PostgreSQL", as printed
    url: str
    server: procs.Service
    load: LoadTimes
    sample_sids: Callable[[int], list[str]]


@dataclass
class Bench:
    args: argparse.Namespace
    stack: ExitStack
    workdir: Path
    _databases: dict[str, Database] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], probe: str, *, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> procs.Service:
        port = free_port()
        argv = [a.replace("{port}", str(port)) for a in argv]
        service = procs.start_service(name, argv, port, self.workdir, lifetime=self.args.lifetime, env=env, cwd=cwd)
        self.stack.callback(procs.stop, service)
        procs.wait_ready(service, probe, AUTH)
        return service

    def start_restcomm(self, name: str, database_url: str) -> procs.Service:
        sip_port = free_port(socket.SOCK_DGRAM)
        # Production defaults spelled out, so RESTCOMM_* variables in this shell cannot change the figures.
        argv = [*procs.restcomm_command(), "serve", "--http-port", "{port}", "--database-url", database_url,
                "--sip-port", str(sip_port), "--log-level", "info", "--no-validate-responses"]
        # In the scratch directory: nothing the server writes lands in the project.
        return self.start(name, argv, READY_PATH, cwd=self.workdir)

    def start_baseline(self, name: str, database_url: str, probe: str) -> procs.Service:
        argv = [sys.executable, "-m", "uvicorn", "bench.baseline:app", "--host", "127.0.0.1", "--port", "{port}",
                "--workers", "1", "--no-access-log", "--log-level", "warning"]
        return self.start(name, argv, probe, env={"BENCH_DATABASE_URL": database_url})

    def sqlite(self) -> Database:
        if "sqlite" not in self._databases:
            path = self.workdir / "restcomm.sqlite3"
            url = f"sqlite://{path}"
            server = self.start_restcomm("restcomm-sqlite", url)
            count = min(self.args.sqlite_calls, self.args.calls)
            progress(f"SQLite: loading {count:,} calls")
            load = dataset.load_sqlite(str(path), count)
            progress(f"SQLite: loaded in {load.insert_s:.1f} s, ANALYZE {load.vacuum_s:.1f} s")
            self._databases["sqlite"] = Database(
                "SQLite", url, server, load, lambda n: dataset.sample_sqlite_sids(str(path), n))
        return self._databases["sqlite"]

    def postgres(self) -> Database:
        if "postgres" not in self._databases:
            url = create_postgres_database(self.args.postgres, self.stack)
            server = self.start_restcomm("restcomm-postgres", url)
            progress(f"PostgreSQL: loading {self.args.calls:,} calls")
            load = asyncio.run(dataset.load_postgres(url, self.args.calls))
            progress(f"PostgreSQL: COPY {load.insert_s:.1f} s, VACUUM ANALYZE {load.vacuum_s:.1f} s")
            self._databases["postgres"] = Database(
                "PostgreSQL", url, server, load, lambda n: asyncio.run(dataset.sample_postgres_sids(url, n)))
        return self._databases["postgres"]


def create_postgres_database(admin_url: str, stack: ExitStack) -> str:
    """A throwaway database beside `admin_url`'s, dropped at exit (after the servers using it stop)."""
    url = asyncio.run(postgres.create(admin_url, "bench"))
    # Registered before any server starts, so it runs after they are stopped (an ExitStack unwinds LIFO).
    stack.callback(lambda: asyncio.run(postgres.drop(admin_url, url)))
    return url


# --- item: throughput ------------------------------------------------------------------------------------

def wrk(service: procs.Service, script: Path, seconds: float, connections: int) -> loadgen.WrkResult:
    try:
        return loadgen.run_wrk(service.base_url, script, seconds=seconds, connections=connections)
    except RuntimeError as exc:
        code = service.process.poll()
        state = "running" if code is None else f"exited {code}"
        if code is not None and code < 0:
            state += f" (killed by signal {-code} from outside this benchmark: another session's pkill?)"
        raise RuntimeError(f"{exc}\n{service.name} is {state}; its log ends:\n{service.log_tail()}") from None


def item_path(call_sid: str) -> str:
    return f"{API}/Accounts/{MAIN_ACCOUNT_SID}/Calls/{call_sid}.json"


def twilio_item_path(call_sid: str) -> str:
    """The same call through the Twilio dialect (twilio.yaml), as twilio-python fetches it."""
    return f"/2010-04-01/Accounts/{MAIN_ACCOUNT_SID}/Calls/{call_sid}.json"


def check_item(service: procs.Service, call_sid: str, path: Callable[[str], str] = item_path) -> None:
    response = httpx.get(service.base_url + path(call_sid), auth=AUTH, timeout=10)
    if response.status_code != 200 or response.json().get("sid") != call_sid:
        raise RuntimeError(f"{service.name}: GET {call_sid} gave {response.status_code} {response.text[:300]}")


def item_figures(bench: Bench, db: Database) -> list[Figure]:
    args = bench.args
    sids = db.sample_sids(args.item_sids)
    script = loadgen.write_script(bench.workdir / f"item-{db.kind}.lua", [item_path(s) for s in sids],
                                  loadgen.basic_auth(*AUTH))
    twilio_script = loadgen.write_script(bench.workdir / f"item-twilio-{db.kind}.lua",
                                         [twilio_item_path(s) for s in sids], loadgen.basic_auth(*AUTH))
    baseline = bench.start_baseline(f"baseline-{db.kind}", db.url, probe=item_path(sids[0]))
    # The Twilio dialect is the same server answering the same rows through its other spec.
    targets = {"restcomm": (db.server, script), "twilio": (db.server, twilio_script), "baseline": (baseline, script)}
    check_item(db.server, sids[0], twilio_item_path)
    for service, target_script in targets.values():
        check_item(service, sids[0])
        wrk(service, target_script, args.warmup, args.connections)
    rps: dict[str, list[float]] = {name: [] for name in targets}
    cpu_ms: dict[str, list[float]] = {name: [] for name in targets}
    # Alternate them, so drifting background load on this shared machine hits all alike.
    for run in range(args.runs):
        for name, (service, target_script) in targets.items():
            cpu_before = service.cpu_seconds()
            result = wrk(service, target_script, args.duration, args.connections)
            # CPU per request does not depend on what else the machine runs, unlike requests/s.
            cpu_ms[name].append(1000 * (service.cpu_seconds() - cpu_before) / result.requests)
            rps[name].append(result.rps)
            progress(f"{db.kind} item run {run + 1}/{args.runs} {name}: {result.rps:,.0f} req/s, "
                     f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, {cpu_ms[name][-1]:.2f} ms CPU/req")
    if args.profile:
        for name, (service, target_script) in targets.items():
            profile_item(bench, service, f"item-{db.kind}-{name}.txt", target_script)
    procs.stop(baseline)

    server, floor = statistics.median(rps["restcomm"]), statistics.median(rps["baseline"])
    twilio = statistics.median(rps["twilio"])
    server_cpu, floor_cpu = statistics.median(cpu_ms["restcomm"]), statistics.median(cpu_ms["baseline"])
    return [
        Figure(f"item GET, {db.kind}: restcomm serve", server, "req/s", f">= {ITEM_TARGET_RPS:,.0f}",
               server >= ITEM_TARGET_RPS, _spread(rps["restcomm"])),
        Figure(f"item GET, {db.kind}: bare Starlette + Tortoise", floor, "req/s", detail=_spread(rps["baseline"])),
        Figure(f"item GET, {db.kind}: ratio Twilio dialect / RestComm dialect", twilio / server, "x",
               f">= {TWILIO_MIN_RATIO}", twilio / server >= TWILIO_MIN_RATIO,
               f"Twilio {twilio:,.0f} req/s, {statistics.median(cpu_ms['twilio']):.2f} ms CPU/req"),
        Figure(f"item GET, {db.kind}: ratio restcomm / Starlette", server / floor, "x",
               detail=f"{db.load.rows:,} calls in the table"),
        Figure(f"item GET, {db.kind}: restcomm CPU per request", server_cpu, "ms",
               detail=_spread(cpu_ms["restcomm"], ".2f")),
        Figure(f"item GET, {db.kind}: Starlette CPU per request", floor_cpu, "ms",
               detail=_spread(cpu_ms["baseline"], ".2f")),
    ]


def _spread(values: list[float], spec: str = ",.0f") -> str:
    return f"{len(values)} runs: {min(values):{spec}}-{max(values):{spec}}"


def profile_item(bench: Bench, service: procs.Service, name: str, script: Path) -> None:
    out = _profile_path(bench, name)
    recorder = profiling.start_recording(service.server_pid, bench.args.duration, out)
    wrk(service, script, bench.args.duration, bench.args.connections)
    profiling.finish_recording(recorder, bench.args.duration)
    progress(profiling.summarize(out))


def _profile_path(bench: Bench, name: str) -> Path:
    bench.args.profile.mkdir(parents=True, exist_ok=True)
    return bench.args.profile / name


# --- list: latency over many rows ------------------------------------------------------------------------

@dataclass(frozen=True)
class FromFilter:
    label: str  # "typical" or "busiest"
    from_value: str
    total: int  # calls of the account with this From and FILTER_STATUS


@dataclass(frozen=True)
class ListPlan:
    """What the list queries ask for, and what their answers must contain, worked out by SQL."""

    total: int
    deep_page: int
    anchor_sid: str  # the last call of the page before the deep page
    deep_first_sid: str  # the first call of the deep page
    # The From of median popularity, and the busiest one (a trunk number making a large share of calls).
    from_filters: tuple[FromFilter, FromFilter]


async def plan_list(database_url: str, page: int, page_size: int) -> ListPlan:
    conn = await asyncpg.connect(postgres.asyncpg_dsn(database_url))
    try:
        total = await conn.fetchval("SELECT count(*) FROM calls WHERE account_sid = $1", MAIN_ACCOUNT_SID)
        deep_page = min(page, math.ceil(total / page_size) - 1)
        if deep_page < 1:
            raise RuntimeError(f"{total} calls make a single page: load more with --calls")
        newest_first = "SELECT sid FROM calls WHERE account_sid = $1 ORDER BY date_created DESC, sid DESC"
        anchor = await conn.fetchval(f"{newest_first} OFFSET $2 LIMIT 1", MAIN_ACCOUNT_SID, deep_page * page_size - 1)
        first = await conn.fetchval(f"{newest_first} OFFSET $2 LIMIT 1", MAIN_ACCOUNT_SID, deep_page * page_size)
        by_from = await conn.fetch(
            "SELECT from_address, count(*) AS n FROM calls WHERE account_sid = $1 AND status = $2"
            " GROUP BY from_address ORDER BY n DESC, from_address", MAIN_ACCOUNT_SID, FILTER_STATUS)
        typical, busiest = by_from[len(by_from) // 2], by_from[0]
        return ListPlan(total, deep_page, anchor, first, (
            FromFilter("typical", typical["from_address"], typical["n"]),
            FromFilter("busiest", busiest["from_address"], busiest["n"]),
        ))
    finally:
        await conn.close()


def list_queries(plan: ListPlan, page_size: int) -> list[ListQuery]:
    deep = {"Page": str(plan.deep_page), "PageSize": str(page_size)}
    return [
        ListQuery("first page", {}, page_size=page_size),
        ListQuery(f"page {plan.deep_page:,} by AfterSid", {**deep, "AfterSid": plan.anchor_sid},
                  plan.deep_page, page_size, plan.anchor_sid),
        ListQuery(f"page {plan.deep_page:,} by Page= (offset)", deep, plan.deep_page, page_size),
        *(ListQuery(f"From ({f.label}) + Status={FILTER_STATUS}", {"From": f.from_value, "Status": FILTER_STATUS},
                    page_size=page_size) for f in plan.from_filters),
    ]


def _checks(plan: ListPlan, page_size: int) -> list[latency.Check]:
    """One check per query of list_queries: a fast answer only counts if it is the right page."""

    def expect(condition: bool, what: str) -> None:
        if not condition:
            raise RuntimeError(f"wrong list answer: {what}")

    def first(body: dict) -> None:
        expect(body["total"] == plan.total, f"total {body['total']} != {plan.total}")
        expect(len(body["calls"]) == page_size, f"{len(body['calls'])} calls on the first page")

    def deep(body: dict) -> None:
        expect(body["calls"][0]["sid"] == plan.deep_first_sid, "the deep page starts at another call")

    def filtered(expected: FromFilter) -> latency.Check:
        def check(body: dict) -> None:
            expect(body["total"] == expected.total, f"filtered total {body['total']} != {expected.total}")
            expect(all(c["from"] == expected.from_value and c["status"] == FILTER_STATUS for c in body["calls"]),
                   "a filtered page holds a call that does not match")
        return check

    return [first, deep, deep, *(filtered(f) for f in plan.from_filters)]


def list_figures(bench: Bench, db: Database) -> list[Figure]:
    args = bench.args
    plan = asyncio.run(plan_list(db.url, args.page, args.page_size))
    queries = list_queries(plan, args.page_size)
    timed = [latency.Query(q.name, f"{API}/Accounts/{MAIN_ACCOUNT_SID}/Calls.json", q.params, check)
             for q, check in zip(queries, _checks(plan, args.page_size), strict=True)]
    progress(f"PostgreSQL list: {args.samples} sequential samples of each of {len(timed)} queries")
    results = latency.measure(db.server.base_url, AUTH, timed, samples=args.samples,
                              server_cpu=db.server.cpu_seconds)
    first, after, offset, *filtered = (results[q.name] for q in queries)
    after_limit = AFTER_SID_MAX_FACTOR * first.p50

    def p_detail(result: latency.LatencyResult) -> str:
        return (f"p90 {result.p90:.1f} ms, server CPU {statistics.median(result.cpu_ms):.1f} ms/req, "
                f"{len(result.samples_ms)} samples")

    figures = [
        Figure(f"list, PostgreSQL: load {db.load.rows:,} calls + VACUUM ANALYZE", db.load.total_s, "s",
               f"< {LOAD_TARGET_S:.0f}", db.load.total_s < LOAD_TARGET_S,
               f"COPY {db.load.insert_s:.1f} s, VACUUM ANALYZE {db.load.vacuum_s:.1f} s"),
        Figure(f"list p50: first page (total {plan.total:,})", first.p50, "ms", f"< {LIST_TARGET_MS:.0f}",
               first.p50 < LIST_TARGET_MS, p_detail(first)),
        Figure(f"list p50: {queries[1].name}", after.p50, "ms", f"<= {after_limit:.1f} (1.5x first)",
               after.p50 <= after_limit, p_detail(after)),
        Figure(f"list p50: {queries[2].name}", offset.p50, "ms", detail=p_detail(offset)),
        *(Figure(f"list p50: {query.name} (total {f.total:,})", result.p50, "ms", f"< {LIST_TARGET_MS:.0f}",
                 result.p50 < LIST_TARGET_MS, p_detail(result))
          for query, f, result in zip(queries[3:], plan.from_filters, filtered, strict=True)),
    ]
    if args.explain or not all_passed(figures[1:]):
        progress("EXPLAIN ANALYZE of the server's list queries:\n" + asyncio.run(explain(db.url, queries)))
    if args.profile:
        profile_list(bench, db, timed)
    return figures


def profile_list(bench: Bench, db: Database, timed: list[latency.Query]) -> None:
    for query in timed:
        seconds = 5.0
        out = _profile_path(bench, "list-" + re.sub(r"[^A-Za-z0-9]+", "-", query.name).strip("-") + ".txt")
        recorder = profiling.start_recording(db.server.server_pid, seconds, out)
        deadline = time.monotonic() + seconds
        with httpx.Client(base_url=db.server.base_url, auth=AUTH, timeout=60) as client:
            while time.monotonic() < deadline:
                latency.timed_get(client, query)
        profiling.finish_recording(recorder, seconds)
        progress(profiling.summarize(out))


# --- main ------------------------------------------------------------------------------------------------

def run(args: argparse.Namespace, figures: list[Figure]) -> None:
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-api-")))
        bench = Bench(args, stack, workdir)
        if args.only in (None, "item"):
            loadgen.require_wrk()
            for kind in args.databases.split(","):
                db = {"sqlite": bench.sqlite, "postgres": bench.postgres}[kind.strip()]()
                figures.extend(item_figures(bench, db))
        if args.only in (None, "list"):
            figures.extend(list_figures(bench, bench.postgres()))
        progress("stopping servers, dropping the throwaway database")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_and_report(lambda figures: run(args, figures))


if __name__ == "__main__":
    sys.exit(main())

"""What metrics and call-event logs cost a call, in one command: `.venv/bin/python -m bench.telemetry`.

Two `restcomm serve` processes on the same database kind run side by side: one as production runs
(metrics collected, one JSON log line per call event at info, written to a file), one with both off
(`--no-metrics --log-level warning`). Outbound calls placed through the API at `--rate` for `--seconds` go to
a sipp callee that answers; the RCML is `<Hangup/>` and every call has a status callback, so each call
fetches, logs and counts what a real one does. The two servers take turns, `--rounds` times, in alternating
order, so load drifting on a shared machine hits both alike. The figure is the median server CPU per call of
each (from /proc), and their ratio: the issue's target is under 3% more CPU per call with telemetry on.

On a busy shared machine two steps of the same server differ by more than 3%, so a second figure estimates the
same cost without that noise: the call-event lines per call (counted in the `on` server's log) and the metric
updates per call (counted from its /metrics) times what one of each costs, timed here with the server's own
JSON formatter writing to a file and its own counters, as a share of the `off` server's CPU per call.

Exits 0 when the target passes, 1 when it fails.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
import timeit
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import httpx

from bench import calls
from bench.harness import loadgen, on_off, procs, sipp
from bench.harness.report import Figure, progress, run_and_report
from restcomm import logs
from telemetry import log_context
from telemetry.call_events import event
from telemetry.metrics import METRICS
from testkit.metrics import samples

TARGET_OVERHEAD = 0.03
# How each server runs: telemetry as production has it, and none at all (the baseline of the same run).
VARIANTS = {
    "on": ["--metrics", "--log-format", "json", "--log-level", "info"],
    "off": ["--no-metrics", "--log-level", "warning"],
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.telemetry", description=__doc__.split("\n\n")[0])
    on_off.add_arguments(parser)
    return calls.with_step_defaults(parser.parse_args(argv))


def run(args: argparse.Namespace, figures: list[Figure]) -> None:
    sipp.require_sipp()
    loadgen.require_wrk()
    with ExitStack() as stack:
        workdir = procs.workdir(stack, args.keep_files, "bench-telemetry-")
        bench = calls.Bench(args, stack, workdir)
        bench.start_rcml_app()
        idle: dict[str, float] = {}

        def start(variant: str, flags: list[str], directory: Path) -> calls.Server:
            server = bench.start_server(args.database, stack, flags, name=f"restcomm-telemetry-{variant}",
                                        workdir=directory)
            idle[variant] = calls.idle_cpu(server)
            progress(f"telemetry {variant}: server up (pid {server.service.server_pid}), "
                     f"idle {idle[variant]:.1f} ms CPU/s")
            return server

        callback = {"StatusCallback": bench.rcml_url, "StatusCallbackEvent": "initiated ringing answered completed"}

        def step(variant: str, round_number: int) -> calls.Step:
            done = calls.outbound_step(bench, servers[variant], args.rate, args.seconds,
                                       f"telemetry-{variant}-{round_number}", callback)
            progress(f"round {round_number + 1}, telemetry {variant}: {done.describe()}")
            return done

        servers = on_off.start_each(VARIANTS, workdir, 40000, start)
        counted_before = _counter_total(servers["on"])
        steps = on_off.alternate(list(VARIANTS), args.rounds, step, calls.PAUSE_BETWEEN_STEPS_S)
        failed = sum(s.failed for variant_steps in steps.values() for s in variant_steps)
        placed = sum(s.offered for s in steps["on"])
        cpu = {variant: [s.cpu_ms for s in variant_steps] for variant, variant_steps in steps.items()}
        on, off = statistics.median(cpu["on"]), statistics.median(cpu["off"])
        # The idle floor (sippy's reactor, timers) is the same with telemetry on or off: without it the ratio
        # is that of the calls' own work.
        floor = {variant: idle[variant] / args.rate for variant in VARIANTS}
        net_on, net_off = on - floor["on"], off - floor["off"]
        overhead = on / off - 1
        net_overhead = net_on / net_off - 1 if net_off > 0 else 0.0
        figures.append(Figure("server CPU per call, telemetry off (baseline)", off, "ms",
                              detail=f"{args.rounds} steps of {args.rate:g}/s x {args.seconds:g} s, {args.database}"))
        figures.append(Figure("server CPU per call, metrics + JSON call-event logs", on, "ms",
                              detail=on_off.spread(cpu)))
        figures.append(Figure("telemetry overhead per call (on / off - 1)", 100 * overhead, "%",
                              f"< {100 * TARGET_OVERHEAD:g}", overhead < TARGET_OVERHEAD and failed == 0,
                              f"without the idle floor ({floor['on']:.2f} / {floor['off']:.2f} ms/call): "
                              f"{100 * net_overhead:.1f}%; {failed} failed calls"))
        lines = _event_lines(servers["on"]) / max(1, placed)
        updates = (_counter_total(servers["on"]) - counted_before) / max(1, placed)
        line_us, update_us = _line_cost_us(workdir), _update_cost_us()
        estimate_ms = (lines * line_us + updates * update_us) / 1000
        figures.append(Figure("telemetry cost per call, from its parts", 100 * estimate_ms / off, "%",
                              f"< {100 * TARGET_OVERHEAD:g}", estimate_ms / off < TARGET_OVERHEAD,
                              f"{lines:.1f} log lines x {line_us:.1f} us + {updates:.0f} metric updates x "
                              f"{update_us:.2f} us = {1000 * estimate_ms:.0f} us of {off:.2f} ms"))


def _event_lines(server: calls.Server) -> int:
    """Call-event lines the server wrote (its stdout and stderr go to its log file)."""
    count = 0
    for line in server.service.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"event":' in line:
            count += 1
    return count


def _counter_total(server: calls.Server) -> float:
    """The sum of every restcomm_ counter and histogram count: how many updates the server made so far."""
    scrape = samples(httpx.get(server.service.base_url + "/metrics", timeout=10).text)
    return sum(value for (name, _), value in scrape.items()
               if name.startswith("restcomm_") and (name.endswith("_total") or name.endswith("_count")))


def _line_cost_us(workdir: Path, count: int = 20_000) -> float:
    """CPU time of one call-event line through the server's JSON formatter and a file handler, in a call's
    context (CPU time, not wall time: other processes on the machine do not count)."""
    handler = logging.FileHandler(workdir / "line-cost.log")
    handler.setFormatter(logs.JsonFormatter("bench-node"))
    logger = logging.getLogger("restcomm.call")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    log_context.bind_call("CA" + "0" * 32, "AC" + "0" * 32)
    try:
        seconds = timeit.Timer(lambda: event("rcml.fetched", url="http://127.0.0.1:8080/hangup.xml",
                                             method="POST", status=200, ms=3.2), timer=time.process_time).timeit(count)
    finally:
        logger.removeHandler(handler)
        handler.close()
    json.loads((workdir / "line-cost.log").read_text().splitlines()[0])  # it wrote what the server writes
    return 1e6 * seconds / count


def _update_cost_us(count: int = 200_000) -> float:
    counter = METRICS.sip_requests.labels("out", "INVITE")
    histogram = METRICS.rcml_fetch
    labelled = timeit.Timer(lambda: METRICS.calls_ended.labels("outbound-api", "completed").inc(),
                            timer=time.process_time).timeit(count)
    plain = timeit.Timer(lambda: (counter.inc(), histogram.observe(0.01)), timer=time.process_time).timeit(count) / 2
    return 1e6 * max(labelled, plain) / count


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_and_report(lambda figures: run(args, figures))


if __name__ == "__main__":
    sys.exit(main())

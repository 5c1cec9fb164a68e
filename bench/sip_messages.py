"""What storing each call's SIP messages costs a call, in one command: `.venv/bin/python -m bench.sip_messages`.

Two `restcomm serve` processes on the same database kind run side by side, as bench.telemetry runs them: one as
production runs (`--sip-messages`: every message captured by the SIP thread, matched to its call and stored in
batches, calls/sip_messages.py), one with nothing captured (`--no-sip-messages`). Both have metrics on and log
at warning. Outbound calls placed through the API at `--rate` for `--seconds` go to a sipp callee that rings
and answers; the RCML is `<Hangup/>`, so each call has its INVITE, 180, 200, ACK, BYE and 200 (6 messages)
to store. The two servers take turns, `--rounds` times, in alternating order, so load drifting on a shared
machine hits both alike. The figure is the median server CPU per call of each (from /proc), and their ratio,
with the PostgreSQL backends' CPU per call beside it (the batched INSERTs run there).

Exits 0 when every call completed, 1 otherwise: there is no target, the figure is for the README.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from bench import calls
from bench.harness import loadgen, sipp
from bench.harness.report import Figure, progress, run_and_report

VARIANTS = {
    "on": ["--sip-messages", "--log-level", "warning"],
    "off": ["--no-sip-messages", "--log-level", "warning"],
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sip_messages", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="calls/s of each step [%(default)s]")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each step [%(default)s]")
    parser.add_argument("--rounds", type=int, default=5, help="steps per server, alternating [%(default)s]")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="postgres",
                        help="[%(default)s] (each server gets a database of its own)")
    args = parser.parse_args(argv)
    base = calls.parse_args(["--seconds", f"{args.seconds:g}", "--settle", "15"])
    for name, value in vars(base).items():
        setattr(args, name, getattr(args, name, value))
    return args


def run(args: argparse.Namespace, figures: list[Figure]) -> None:
    sipp.require_sipp()
    loadgen.require_wrk()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-sip-messages-")))
        bench = calls.Bench(args, stack, workdir)
        bench.start_rcml_app()
        servers: dict[str, calls.Server] = {}
        for index, (variant, flags) in enumerate(VARIANTS.items()):
            ports = f"{44000 + 2000 * index}-{44000 + 2000 * index + 1999}"
            variant_dir = workdir / variant
            variant_dir.mkdir(exist_ok=True)
            bench.workdir = variant_dir
            servers[variant] = bench.start_server(args.database, stack, [*flags, "--rtp-ports", ports],
                                                  name=f"restcomm-sip-messages-{variant}")
            progress(f"SIP messages {variant}: server up (pid {servers[variant].service.server_pid})")
        bench.workdir = workdir
        cpu: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        database: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        failed = 0
        for round_number in range(args.rounds):
            order = list(VARIANTS) if round_number % 2 == 0 else list(reversed(VARIANTS))
            for variant in order:
                step = calls.outbound_step(bench, servers[variant], args.rate, args.seconds,
                                           f"sip-messages-{variant}-{round_number}", {})
                failed += step.failed
                cpu[variant].append(step.cpu_ms)
                database[variant].append(step.database_cpu_ms)
                progress(f"round {round_number + 1}, SIP messages {variant}: {step.describe()}")
                time.sleep(calls.PAUSE_BETWEEN_STEPS_S)
        on, off = statistics.median(cpu["on"]), statistics.median(cpu["off"])
        spread = "; ".join(f"{v}: {', '.join(f'{x:.2f}' for x in cpu[v])}" for v in VARIANTS)
        db_on, db_off = statistics.median(database["on"]), statistics.median(database["off"])
        figures.append(Figure("server CPU per call, SIP messages not stored (baseline)", off, "ms",
                              detail=f"{args.rounds} steps of {args.rate:g}/s x {args.seconds:g} s, {args.database}"))
        figures.append(Figure("server CPU per call, SIP messages stored", on, "ms", detail=spread))
        figures.append(Figure("SIP messages' cost per call (on / off - 1)", 100 * (on / off - 1), "%",
                              passed=failed == 0, detail=f"{failed} failed calls; PostgreSQL backends "
                              f"{db_on:.2f} vs {db_off:.2f} ms CPU/call"))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_and_report(lambda figures: run(args, figures))


if __name__ == "__main__":
    sys.exit(main())

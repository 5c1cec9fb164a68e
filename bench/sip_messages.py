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
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from bench import calls
from bench.harness import loadgen, on_off, procs, sipp
from bench.harness.report import Figure, progress, run_and_report

VARIANTS = {
    "on": ["--sip-messages", "--log-level", "warning"],
    "off": ["--no-sip-messages", "--log-level", "warning"],
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.sip_messages", description=__doc__.split("\n\n")[0])
    on_off.add_arguments(parser)
    return calls.with_step_defaults(parser.parse_args(argv))


def run(args: argparse.Namespace, figures: list[Figure]) -> None:
    sipp.require_sipp()
    loadgen.require_wrk()
    with ExitStack() as stack:
        workdir = procs.workdir(stack, args.keep_files, "bench-sip-messages-")
        bench = calls.Bench(args, stack, workdir)
        bench.start_rcml_app()

        def start(variant: str, flags: list[str], directory: Path) -> calls.Server:
            server = bench.start_server(args.database, stack, flags, name=f"restcomm-sip-messages-{variant}",
                                        workdir=directory)
            progress(f"SIP messages {variant}: server up (pid {server.service.server_pid})")
            return server

        def step(variant: str, round_number: int) -> calls.Step:
            done = calls.outbound_step(bench, servers[variant], args.rate, args.seconds,
                                       f"sip-messages-{variant}-{round_number}", {})
            progress(f"round {round_number + 1}, SIP messages {variant}: {done.describe()}")
            return done

        servers = on_off.start_each(VARIANTS, workdir, 44000, start)
        steps = on_off.alternate(list(VARIANTS), args.rounds, step, calls.PAUSE_BETWEEN_STEPS_S)
        failed = sum(s.failed for variant_steps in steps.values() for s in variant_steps)
        cpu = {variant: [s.cpu_ms for s in variant_steps] for variant, variant_steps in steps.items()}
        database = {variant: [s.database_cpu_ms for s in variant_steps] for variant, variant_steps in steps.items()}
        on, off = statistics.median(cpu["on"]), statistics.median(cpu["off"])
        db_on, db_off = statistics.median(database["on"]), statistics.median(database["off"])
        figures.append(Figure("server CPU per call, SIP messages not stored (baseline)", off, "ms",
                              detail=f"{args.rounds} steps of {args.rate:g}/s x {args.seconds:g} s, {args.database}"))
        figures.append(Figure("server CPU per call, SIP messages stored", on, "ms", detail=on_off.spread(cpu)))
        figures.append(Figure("SIP messages' cost per call (on / off - 1)", 100 * (on / off - 1), "%",
                              passed=failed == 0, detail=f"{failed} failed calls; PostgreSQL backends "
                              f"{db_on:.2f} vs {db_off:.2f} ms CPU/call"))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_and_report(lambda figures: run(args, figures))


if __name__ == "__main__":
    sys.exit(main())

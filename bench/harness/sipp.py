"""sipp as the far end of the call benchmark: started on free ports, bounded in time, read back from its files.

Each run keeps three files: the message trace (`-trace_msg`: every message with the wall-clock time sipp
sent or received it, to the microsecond), the statistics CSV (`-trace_stat`, rewritten every second and
once more when sipp exits, SIGTERM included) and the error log.
"""

from __future__ import annotations

import contextlib
import csv
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.harness import procs
from testkit import sipp as testkit_sipp
from testkit.ports import free_port, udp_port_bound
from testkit.sipp import messages

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@dataclass
class SippRun:
    service: procs.Service
    sip_port: int
    messages: Path
    stats: Path
    errors: Path

    def counters(self) -> dict[str, int]:
        """The cumulative counters of the last statistics line (e.g. "SuccessfulCall(C)")."""
        with contextlib.suppress(OSError, IndexError):  # not written yet
            with self.stats.open(newline="") as lines:
                rows = list(csv.reader(lines, delimiter=";"))
            header, last = rows[0], rows[-1]
            return {name: int(value) for name, value in zip(header, last, strict=False) if value.strip().isdigit()}
        return {}

    def error_excerpt(self, limit: int = 600) -> str:
        with contextlib.suppress(OSError):
            return self.errors.read_text(errors="replace")[-limit:]
        return ""


def require_sipp() -> None:
    if (reason := testkit_sipp.missing()) is not None:
        raise RuntimeError(reason)


def start(name: str, workdir: Path, scenario: str, args: Sequence[str], *, lifetime: float) -> SippRun:
    """sipp with `scenario` (a file of bench/scenarios) on a free UDP port; returns once it holds the port."""
    require_sipp()
    port = free_port(socket.SOCK_DGRAM)
    message_file, stat_file, error_file = (
        workdir / f"{name}-{kind}" for kind in ("messages.log", "stats.csv", "errors.log"))
    argv = [testkit_sipp.SIPP, *args, "-sf", str(SCENARIOS / scenario), *testkit_sipp.local_args(port),
            "-trace_msg", "-message_file", str(message_file),
            "-trace_stat", "-stf", str(stat_file), "-fd", "1", "-trace_err", "-error_file", str(error_file)]
    service = procs.start_service(name, argv, port, workdir, lifetime=lifetime)
    run = SippRun(service, port, message_file, stat_file, error_file)
    wait_bound(run)
    return run


def wait_bound(run: SippRun, deadline_s: float = 10.0) -> None:
    """Until sipp holds its UDP port (read from the kernel's socket table: no probing that could race it)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if udp_port_bound(run.sip_port):
            return
        if run.service.process.poll() is not None:
            raise RuntimeError(f"sipp exited with {run.service.process.returncode}:\n{run.service.log_tail()}")
        time.sleep(0.02)
    raise RuntimeError(f"sipp did not bind UDP {run.sip_port}:\n{run.service.log_tail()}")


# --- the message trace -------------------------------------------------------------------------------------

def first_times(path: Path, wanted: Sequence[tuple[bool, str]], key: str) -> dict[tuple[bool, str], dict[str, float]]:
    """For each (received, start) in `wanted` (e.g. (True, "INVITE ") or (False, "SIP/2.0 200")), when the
    first such message of each `key` header value (Call-ID, X-RestComm-CallSid) was handled: retransmissions
    are ignored."""
    found: dict[tuple[bool, str], dict[str, float]] = {w: {} for w in wanted}
    for message in messages(path):
        for received, start in wanted:
            if message.received == received and message.first_line.startswith(start):
                value = message.header(key)
                if value is not None:
                    found[(received, start)].setdefault(value, message.at)
    return found

"""sipp as the far end of the call benchmark: started on free ports, bounded in time, read back from its files.

Each run keeps three files: the message trace (`-trace_msg`: every message with the wall-clock time sipp
sent or received it, to the microsecond), the statistics CSV (`-trace_stat`, rewritten every second and
once more when sipp exits, SIGTERM included) and the error log.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import re
import shutil
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import procs
from tests.support.ports import free_media_ports, free_port, udp_port_bound

SIPP = "/usr/bin/sipp"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
# A line of 47 dashes and the time starts every message of a -trace_msg file.
_BLOCK_START = re.compile(r"^-{47} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6})$", re.MULTILINE)


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
    if shutil.which(SIPP) is None:
        raise RuntimeError(f"{SIPP} is not installed: apt-get install -y sip-tester")


def start(name: str, workdir: Path, scenario: str, args: Sequence[str], *, lifetime: float) -> SippRun:
    """sipp with `scenario` (a file of bench/scenarios) on a free UDP port; returns once it holds the port."""
    require_sipp()
    port = free_port(socket.SOCK_DGRAM)
    message_file, stat_file, error_file = (
        workdir / f"{name}-{kind}" for kind in ("messages.log", "stats.csv", "errors.log"))
    argv = [SIPP, *args, "-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(port),
            # Media and control ports of its own, so that sipp runs never collide with each other or with tests.
            "-mi", "127.0.0.1", "-mp", str(free_media_ports()), "-cp", str(free_port(socket.SOCK_DGRAM)),
            "-nostdin", "-trace_msg", "-message_file", str(message_file),
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

@dataclass(frozen=True)
class Message:
    at: float  # epoch seconds (sipp writes local wall-clock time)
    received: bool
    first_line: str
    text: str

    def header(self, name: str) -> str | None:
        match = re.search(rf"^{re.escape(name)}:[ \t]*(.*?)\r?$", self.text, re.MULTILINE | re.IGNORECASE)
        return match.group(1) if match else None

    @property
    def status(self) -> int | None:
        return int(self.first_line[8:11]) if self.first_line.startswith("SIP/2.0 ") else None


def messages(path: Path) -> Iterator[Message]:
    """Every message of a -trace_msg file, in the order sipp handled them."""
    text = path.read_text(errors="replace")
    starts = list(_BLOCK_START.finditer(text))
    for match, following in zip(starts, [*starts[1:], None], strict=True):
        block = text[match.end():following.start() if following else len(text)]
        # "\nUDP message received [514] bytes :\n\nINVITE sip:... SIP/2.0\n..."
        direction, _, message = block.lstrip("\n").partition("\n\n")
        at = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        yield Message(at, "received" in direction, message.split("\n", 1)[0].strip(), message)


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

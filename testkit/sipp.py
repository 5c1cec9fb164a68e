"""sipp, as tests and benchmarks run it: its own ports on 127.0.0.1, its message trace read back.

The wrappers (tests/support/sipp.py for a test's peer, bench/harness/sipp.py for a benchmark's callers and
callees) differ in what they wait for and report; what sipp is given and what it wrote is the same for both.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from testkit.ports import free_media_ports, free_port

SIPP = "/usr/bin/sipp"
INSTALL = "apt-get install -y sip-tester"
# A line of 47 dashes and the time starts every message of a -trace_msg file.
_BLOCK_START = re.compile(r"^-{47} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6})$", re.MULTILINE)


def missing() -> str | None:
    """Why sipp cannot run here, or None."""
    return None if shutil.which(SIPP) else f"{SIPP} is not installed: {INSTALL}"


def local_args(sip_port: int) -> list[str]:
    """SIP on `sip_port`, and media and control ports of its own, so sipp runs never collide with each other."""
    return ["-i", "127.0.0.1", "-p", str(sip_port),
            "-mi", "127.0.0.1", "-mp", str(free_media_ports()), "-cp", str(free_port(socket.SOCK_DGRAM)),
            "-nostdin"]


@dataclass(frozen=True)
class Message:
    at: float  # epoch seconds (sipp writes local wall-clock time, to the microsecond)
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
    """Every message of a -trace_msg file, in the order sipp handled them (nothing when it has none yet)."""
    text = path.read_text(errors="replace") if path.exists() else ""
    starts = list(_BLOCK_START.finditer(text))
    for match, following in zip(starts, [*starts[1:], None], strict=True):
        block = text[match.end():following.start() if following else len(text)]
        # "\nUDP message received [514] bytes :\n\nINVITE sip:... SIP/2.0\n..."
        direction, _, message = block.lstrip("\n").partition("\n\n")
        at = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        message = message.strip()
        yield Message(at, "received" in direction, message.split("\n", 1)[0].strip(), message)

"""sipp, as tests and benchmarks run it: its own ports on 127.0.0.1, its message trace read back.

`Sipp` is one sipp peer of a test or of bench/cluster.py: started on its own ports, bounded by `timeout -k`,
killed by its process id at the end (tests/support/sipp.py makes a missing sipp skip the test).
bench/harness/sipp.py runs the call benchmark's callers and callees, which wait for and report other things;
what sipp is given and what it wrote is the same for all.

Exit codes (sipp's): 0 every call succeeded, 1 at least one failed, 97/99 stopped early, 254 could not bind.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from testkit import processes
from testkit.ports import free_media_ports, free_port, udp_port_bound

SIPP = "/usr/bin/sipp"
INSTALL = "apt-get install -y sip-tester"
# A line of 47 dashes and the time starts every message of a -trace_msg file.
_BLOCK_START = re.compile(r"^-{47} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6})$", re.MULTILINE)
# What sipp says when a port local_args probed free was taken before sipp bound it (not its SIP port).
_PORT_RACE = re.compile(r"Unable to bind (remote control|audio|video)")
# Scenarios both the tests and the benchmarks run (a test's own are in tests/scenarios).
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def missing() -> str | None:
    """Why sipp cannot run here, or None."""
    return None if shutil.which(SIPP) else f"{SIPP} is not installed: {INSTALL}"


def local_args(sip_port: int) -> list[str]:
    """SIP on `sip_port`, and media and control ports of its own, so sipp runs never collide with each other."""
    return ["-i", "127.0.0.1", "-p", str(sip_port),
            "-mi", "127.0.0.1", "-mp", str(free_media_ports()), "-cp", str(free_port(socket.SOCK_DGRAM)),
            "-nostdin"]


def _head_and_tail(text: str, head: int = 2500, tail: int = 1500) -> str:
    """The start and the end of a long sipp error log. The first event is the cause (an aborted call); what
    follows is mostly its consequences (our ACK and BYE reaching the dead call), which filled the tail alone."""
    if len(text) <= head + tail:
        return text
    return f"{text[:head]}\n[... {len(text) - head - tail} characters left out ...]\n{text[-tail:]}"


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


class Sipp:
    """One sipp run. `scenario` is a file in `scenarios` or a built-in name ("uas", "uac"). It is ready once it
    holds its SIP port and its media port (`media_port`: audio RTP, for -rtp_echo). With `trace=False` it keeps
    no message trace: at tens of calls per second writing it costs more CPU than the calls."""

    def __init__(self, scenario: str, workdir: Path, *, target: tuple[str, int] | None = None,
                 calls: int = 1, lifetime_s: float = 20, args: Sequence[str] = (),
                 fill: dict[str, str] | None = None, scenarios: Path = SCENARIOS, trace: bool = True) -> None:
        self.port = free_port(socket.SOCK_DGRAM)
        self.media_port = 0  # probed afresh by each start (command())
        self.scenario = scenario
        self.target = target
        self.calls = calls
        self.lifetime_s = lifetime_s
        self.args = list(args)
        self.trace = trace
        stem = f"sipp-{scenario.removesuffix('.xml')}-{self.port}"
        self.message_file = workdir / f"{stem}-messages.log"
        self.error_file = workdir / f"{stem}-errors.log"
        self.screen_file = workdir / f"{stem}-screen.log"
        self.scenario_file = scenarios / scenario
        if fill:
            # sipp reads status codes when it loads a scenario, so `-key` cannot set them: fill {{name}} here.
            text = self.scenario_file.read_text()
            for name, value in fill.items():
                text = text.replace("{{" + name + "}}", value)
            self.scenario_file = workdir / f"{stem}.xml"
            self.scenario_file.write_text(text)
        self._process: asyncio.subprocess.Process | None = None

    @property
    def uri_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        builtin = not self.scenario.endswith(".xml")
        source = ["-sn", self.scenario] if builtin else ["-sf", str(self.scenario_file)]
        target = [f"{self.target[0]}:{self.target[1]}"] if self.target else []
        local = local_args(self.port)
        self.media_port = int(local[local.index("-mp") + 1])
        trace = ["-trace_msg", "-message_file", str(self.message_file)] if self.trace else []
        return [
            SIPP, *target, *source, *local, "-m", str(self.calls), *trace,
            "-trace_err", "-error_file", str(self.error_file), *self.args,
        ]

    async def start(self, *, wait_bound: bool = True, attempts: int = 3) -> Sipp:
        """Starts sipp; raises RuntimeError when it is not installed or exits before it is ready."""
        if (reason := missing()) is not None:
            raise RuntimeError(reason)
        for attempt in range(1, attempts + 1):
            self.error_file.unlink(missing_ok=True)
            with self.screen_file.open("wb") as screen:
                self._process = await processes.start_async(self.command(), lifetime_s=self.lifetime_s,
                                                            output=screen)
            if not wait_bound:
                return self
            try:
                await self._until_bound()
                return self
            except RuntimeError:
                # Its control and media ports were free when probed, then handed over: another process may
                # take one in between (sipp exits 254). command() probes fresh ones; the SIP port stays.
                if attempt == attempts or not self._lost_a_port_race():
                    raise
        return self

    def _lost_a_port_race(self) -> bool:
        errors = self.error_file.read_text(errors="replace") if self.error_file.exists() else ""
        return _PORT_RACE.search(errors) is not None

    async def wait(self, timeout_s: float = 15) -> int:
        assert self._process is not None
        return await asyncio.wait_for(self._process.wait(), timeout_s)

    async def stop(self) -> None:
        process = self._process
        if process is not None:
            # The session is sipp's and its `timeout` wrapper's; both are ours, found by the wrapper's pid.
            await processes.stop_async(process, grace_s=2)

    async def __aenter__(self) -> Sipp:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def messages(self) -> str:
        """Every message sipp sent and received (its -trace_msg file)."""
        return self.message_file.read_text(errors="replace") if self.message_file.exists() else ""

    def received(self) -> list[str]:
        """The messages sipp received, in order, as text."""
        return [message.text for message in messages(self.message_file) if message.received]

    def explain(self) -> str:
        errors = self.error_file.read_text(errors="replace") if self.error_file.exists() else ""
        screen = self.screen_file.read_text(errors="replace") if self.screen_file.exists() else ""
        return (f"sipp {self.scenario} on {self.port}\n--- errors:\n{_head_and_tail(errors)}\n"
                f"--- screen:\n{screen[-1500:]}")

    async def _until_bound(self, deadline_s: float = 5) -> None:
        """Waits until sipp holds its SIP and media ports (it binds both as it starts, whatever the scenario);
        reading /proc never races sipp for a port."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if udp_port_bound(self.port) and udp_port_bound(self.media_port):
                return
            if self._process is not None and self._process.returncode is not None:
                raise RuntimeError(f"sipp exited with {self._process.returncode}\n{self.explain()}")
            await asyncio.sleep(0.01)
        raise TimeoutError(f"sipp did not bind {self.port} and {self.media_port}\n{self.explain()}")

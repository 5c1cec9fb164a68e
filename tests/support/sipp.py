"""sipp as a test peer: on its own ports, bounded by `timeout -k`, killed by its process id at the end.

Exit codes (sipp's): 0 every call succeeded, 1 at least one failed, 97/99 stopped early, 254 could not bind.
The message trace (`-trace_msg`) is kept so tests can check what actually went on the wire.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from testkit import processes, sipp
from testkit.ports import free_port, udp_port_bound

# What sipp says when a port local_args probed free was taken before sipp bound it (not its SIP port).
_PORT_RACE = re.compile(r"Unable to bind (remote control|audio|video)")
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


class Sipp:
    """One sipp run. `scenario` is a file in `scenarios` (tests/scenarios unless told) or a built-in name ("uas",
    "uac"). It is ready once it holds its SIP port and its media port (`media_port`: audio RTP, for -rtp_echo)."""

    def __init__(self, scenario: str, workdir: Path, *, target: tuple[str, int] | None = None,
                 calls: int = 1, lifetime_s: float = 20, args: Sequence[str] = (),
                 fill: dict[str, str] | None = None, scenarios: Path = SCENARIOS) -> None:
        self.port = free_port(socket.SOCK_DGRAM)
        self.media_port = 0  # probed afresh by each start (command())
        self.scenario = scenario
        self.target = target
        self.calls = calls
        self.lifetime_s = lifetime_s
        self.args = list(args)
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
        local = sipp.local_args(self.port)
        self.media_port = int(local[local.index("-mp") + 1])
        return [
            sipp.SIPP, *target, *source, *local, "-m", str(self.calls),
            "-trace_msg", "-message_file", str(self.message_file),
            "-trace_err", "-error_file", str(self.error_file), *self.args,
        ]

    async def start(self, *, wait_bound: bool = True, attempts: int = 3) -> Sipp:
        if (reason := sipp.missing()) is not None:
            pytest.skip(reason)  # a missing peer skips the test with the reason in the report, never a silent pass
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
        return [message.text for message in sipp.messages(self.message_file) if message.received]

    def explain(self) -> str:
        errors = self.error_file.read_text(errors="replace") if self.error_file.exists() else ""
        screen = self.screen_file.read_text(errors="replace") if self.screen_file.exists() else ""
        return f"sipp {self.scenario} on {self.port}\n--- errors:\n{errors[-3000:]}\n--- screen:\n{screen[-1500:]}"

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

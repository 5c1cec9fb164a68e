"""The shipped Kamailio config (deploy/kamailio/kamailio.cfg) run for real in front of nodes (tests, bench).

On 127.0.0.1 on a UDP port the OS hands out, with a dispatcher list written for the test, its own runtime
directory and control socket; bounded by SIGKILL when the test process dies and stopped by its process id.
`kamailio -c` accepts configs that then fail at start, so it is always started, never only checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from testkit import processes
from testkit.cluster import _die_with_parent, free_port_on
from testkit.ports import udp_port_bound

KAMAILIO = "/usr/sbin/kamailio"
KAMCMD = "/usr/sbin/kamcmd"
CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "kamailio" / "kamailio.cfg"


class KamailioMissing(RuntimeError):
    """The tests turn it into a skip with its message; a benchmark stops with it."""


class Kamailio:
    def __init__(self, workdir: Path, nodes: Sequence[tuple[str, int]]) -> None:
        self.directory = workdir / "kamailio"
        self.directory.mkdir(exist_ok=True)
        self.port = free_port_on("127.0.0.1", socket.SOCK_DGRAM)
        self.list_file = self.directory / "dispatcher.list"
        self.list_file.write_text("".join(f"1 sip:{host}:{port} 0 0\n" for host, port in nodes))
        self.ctl = f"unix:{self.directory}/ctl"
        self.log_path = self.directory / "kamailio.log"
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> tuple[str, int]:
        return "127.0.0.1", self.port

    def command(self) -> list[str]:
        return [KAMAILIO, "-DD", "-E", "-f", str(CONFIG), "-l", f"udp:127.0.0.1:{self.port}", "-Y",
                str(self.directory), "-P", str(self.directory / "kamailio.pid"), "-w", str(self.directory),
                "-m", "64", "-M", "8", "-A", f'DS_LIST="{self.list_file}"', "-A", f'CTL_SOCKET="{self.ctl}"']

    async def start(self) -> None:
        if shutil.which(KAMAILIO) is None:
            raise KamailioMissing("kamailio is not installed: apt-get install -y kamailio")
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,  # noqa: ASYNC220
                                            start_new_session=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 10
        while not udp_port_bound(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kamailio did not start (exit {self.process.poll()}):\n{self.log()}")
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            processes.stop(self.process, grace_s=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""

    async def rpc(self, *command: str) -> str:
        process = await asyncio.create_subprocess_exec(KAMCMD, "-s", self.ctl, *command,
                                                       stdout=asyncio.subprocess.PIPE,
                                                       stderr=asyncio.subprocess.STDOUT)
        output, _ = await asyncio.wait_for(process.communicate(), 10)
        return output.decode(errors="replace")

    async def states(self) -> dict[str, str]:
        """Each node's dispatcher flags (`AP` active and probed, `IP` inactive, ...), by URI."""
        text = await self.rpc("dispatcher.list")
        states: dict[str, str] = {}
        uri = None
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("URI:"):
                uri = line.split(":", 1)[1].strip()
            elif line.startswith("FLAGS:") and uri is not None:
                states[uri] = line.split(":", 1)[1].strip()
        return states


@contextlib.asynccontextmanager
async def running_kamailio(workdir: Path, nodes: Sequence[tuple[str, int]]) -> AsyncIterator[Kamailio]:
    proxy = Kamailio(workdir, nodes)
    try:
        await proxy.start()
        yield proxy
    finally:
        proxy.stop()

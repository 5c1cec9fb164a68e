"""Several real `restcomm serve` nodes on one database, each on its own loopback address (127.0.0.2, .3...),
for the cluster tests and bench/cluster.py.

A node is started without a `timeout` wrapper, because the drain tests signal it: `timeout` would forward
the SIGTERM and the node would take the second one for "stop now". It is bounded instead by the kernel: it
gets SIGKILL when the test process dies (PR_SET_PDEATHSIG), and every test stops it by its process id.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from testkit import processes

RESTCOMM = str(Path(sys.executable).parent / "restcomm")
# The default account every fresh database gets (restcomm/seed.py), and the API's prefix.
ADMIN_SID = "ACae6e420f425248d6a26948c17a9e2acf"
ADMIN_TOKEN = "77f8c12cc7b8f8423e5c38b035249166"
BASE = "/restcomm/2012-04-24"
_PR_SET_PDEATHSIG = 1
CLUSTER_SECRET = "test-cluster-secret-0123456789"


def free_port_on(host: str, kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class NodeProcess:
    node_id: str
    host: str
    http_port: int
    sip_port: int
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def sip(self) -> tuple[str, int]:
        return self.host, self.sip_port

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url + BASE, auth=(ADMIN_SID, ADMIN_TOKEN), timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path.exists() else ""

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, sig)

    async def exited(self, within: float) -> int:
        deadline = time.monotonic() + within
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"node {self.node_id} still runs after {within} s\n{self.log()}")
            await asyncio.sleep(0.05)
        return self.process.returncode

    def stop(self) -> None:
        processes.stop(self.process, grace_s=5)


async def start_node(database_url: str, host: str, workdir: Path, *, rtp_ports: str,
                     extra_env: dict[str, str] | None = None) -> NodeProcess:
    http_port, sip_port = free_port_on(host), free_port_on(host, socket.SOCK_DGRAM)
    node_id = f"node-{host}"
    env = {**os.environ, "RESTCOMM_DATABASE_URL": database_url, "RESTCOMM_HTTP_HOST": host,
           "RESTCOMM_HTTP_PORT": str(http_port), "RESTCOMM_SIP_HOST": host, "RESTCOMM_SIP_PORT": str(sip_port),
           "RESTCOMM_NODE_ID": node_id, "RESTCOMM_RTP_PORTS": rtp_ports, "RESTCOMM_NODE_LEASE_SECONDS": "5",
           "RESTCOMM_CLUSTER_SECRET": CLUSTER_SECRET, "RESTCOMM_SIP_SECRET": "test-sip-secret",
           "RESTCOMM_RECORDINGS_DIR": str(workdir / f"recordings-{host}"), "RESTCOMM_LOG_LEVEL": "info",
           **(extra_env or {})}
    log_path = workdir / f"{node_id}.log"
    with log_path.open("wb") as log:
        # A Popen (spawning takes a millisecond) so that testkit.processes.stop can also run outside the loop.
        process = subprocess.Popen([RESTCOMM, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,  # noqa: ASYNC220
                                   start_new_session=True, preexec_fn=_die_with_parent)
    node = NodeProcess(node_id, host, http_port, sip_port, process, log_path, env)
    try:
        await _until_listening(node)
    except BaseException:
        node.stop()
        raise
    return node


async def _until_listening(node: NodeProcess, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    # Any answer of the HTTP side will do (401 without credentials): openapi.json takes seconds to render on a
    # loaded machine, and a probe that gives up sooner would never see it.
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            if node.process.poll() is not None:
                raise RuntimeError(f"node {node.node_id} exited with {node.process.returncode}:\n{node.log()}")
            try:
                await client.get(f"{node.base_url}{BASE}/Accounts.json")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise TimeoutError(f"node {node.node_id} did not listen within {deadline_s} s\n{node.log()}")


async def wait_status(api: httpx.AsyncClient, sid: str, *statuses: str, within: float = 20) -> dict:
    """The call once its status is one of `statuses`, polled through a node's API (`api`: NodeProcess.api()):
    the call runs in another process, no event reaches this one. TimeoutError after `within` seconds."""
    async with asyncio.timeout(within):
        while True:
            call = (await api.get(f"/Accounts/{ADMIN_SID}/Calls/{sid}.json")).json()
            if call["status"] in statuses:
                return call
            await asyncio.sleep(0.1)


def sip_options(target: tuple[str, int], timeout: float = 1.0) -> int | None:
    """Sends one OPTIONS (as Kamailio's dispatcher probes) and returns the response's status code."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        local = sock.getsockname()
        call_id = os.urandom(8).hex()
        request = (f"OPTIONS sip:{target[0]}:{target[1]} SIP/2.0\r\n"
                   f"Via: SIP/2.0/UDP {local[0]}:{local[1]};branch=z9hG4bK{call_id}\r\n"
                   f"From: <sip:probe@{local[0]}:{local[1]}>;tag={call_id[:6]}\r\n"
                   f"To: <sip:{target[0]}:{target[1]}>\r\nCall-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\n"
                   "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        sock.sendto(request.encode(), target)
        try:
            while True:
                data, _ = sock.recvfrom(65535)
                status = int(data.split(b" ", 2)[1])
                if status >= 200:
                    return status
        except TimeoutError:
            return None

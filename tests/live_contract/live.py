"""The contract checked from outside: `restcomm serve` as a user runs it, and the tools that read openapi.yaml.

Each test starts its own server on free ports (HTTP and SIP over UDP), over an SQLite file in its temporary
directory, bounded in time and stopped by its process id. The server's output goes to a file, shown when a
test fails (a pipe nobody reads would stall a chatty server).

The node tools (the TypeScript SDK generator, tsx, typescript, playwright-core) are those of sdk-tests/,
installed by `.ci/run` with `npm ci`. Without them the tests fail and say how to install them: in CI a
missing tool must not turn into a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from testkit import processes
from testkit.ports import free_port
from tests.conftest import ADMIN_SID, ADMIN_TOKEN
from tests.support.processes import RESTCOMM

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "openapi.yaml"
NODE_PROJECT = REPO / "sdk-tests"
NODE_BIN = NODE_PROJECT / "node_modules" / ".bin"
API_PREFIX = "/restcomm/2012-04-24"


@dataclass
class Server:
    base: str  # http://127.0.0.1:PORT
    sip_port: int
    log: Path

    @property
    def api(self) -> str:
        return self.base + API_PREFIX

    def output(self, tail: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-tail:] if self.log.exists() else ""


@contextlib.contextmanager
def restcomm_serve(workdir: Path, *, lifetime_s: float = 180, sip: bool = True) -> Iterator[Server]:
    """`restcomm serve` over `workdir`/restcomm.sqlite3, on free ports; killed by its process group at the end.

    `sip=False` turns SIP off (RESTCOMM_SIP_PORT=0): created calls stay queued and nothing is sent over SIP,
    which is what a run of random inputs needs (a generated `To` must never ring an address off this machine).
    """
    http_port = free_port()
    sip_port = free_port(socket.SOCK_DGRAM) if sip else 0
    env = {
        **os.environ,
        "RESTCOMM_DATABASE_URL": f"sqlite://{workdir / 'restcomm.sqlite3'}",
        "RESTCOMM_HTTP_HOST": "127.0.0.1",
        "RESTCOMM_HTTP_PORT": str(http_port),
        "RESTCOMM_SIP_HOST": "127.0.0.1",
        "RESTCOMM_SIP_PORT": str(sip_port),
        "RESTCOMM_RECORDINGS_DIR": str(workdir / "recordings"),
        "RESTCOMM_VALIDATE_RESPONSES": "true",
        # Fuzzers and SDK runs send wrong credentials on purpose, from this one address: no throttle.
        "RESTCOMM_LOGIN_GUESS_LIMIT": "0",
    }
    env.pop("RESTCOMM_PUBLIC_URL", None)
    log = workdir / "restcomm-serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(["timeout", "-k", "5", str(lifetime_s), RESTCOMM, "serve"], env=env, cwd=workdir,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = Server(base=f"http://127.0.0.1:{http_port}", sip_port=sip_port, log=log)
    try:
        _wait_until_listening(server, process)
        yield server
    finally:
        processes.stop(process)


def _wait_until_listening(server: Server, process: subprocess.Popen, deadline_s: float = 60) -> None:
    """Until the HTTP side answers anything (401: no credentials), as testkit/cluster.py waits for a node. Not
    openapi.json with a 1 s timeout, as it was: rendering it takes 0.3 s of CPU, 1.1-1.4 s at load 10-14,
    so every probe gave up before its answer; and the start itself takes 4 s idle, 11-14 s at that load."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"restcomm serve exited with {process.returncode}:\n{server.output()}")
        try:
            httpx.get(server.api + "/Accounts.json", timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"restcomm serve did not listen on {server.base} within {deadline_s} s\n{server.output()}")


def require_node_tools(*names: str) -> dict[str, str]:
    """Paths of node and of sdk-tests' tools; fails (never skips) when one is missing."""
    found = {"node": shutil.which("node")}
    found.update({name: str(NODE_BIN / name) if (NODE_BIN / name).exists() else None for name in names})
    missing = sorted(name for name, path in found.items() if path is None)
    if missing:
        pytest.fail(f"missing node tools {missing}: install Node.js >= 20.19, then `npm ci --prefix sdk-tests` "
                    "(.ci/run does both)", pytrace=False)
    return found  # type: ignore[return-value]


def run_bounded(command: list[str], *, timeout_s: float, cwd: Path | None = None,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool in its own process group; on timeout the whole group is killed by its id."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"{command[0]} did not finish within {timeout_s} s:\n{output[-6000:]}")
    return subprocess.CompletedProcess(command, process.returncode, output, "")


__all__ = ["ADMIN_SID", "ADMIN_TOKEN", "SPEC", "Server", "require_node_tools", "restcomm_serve", "run_bounded"]

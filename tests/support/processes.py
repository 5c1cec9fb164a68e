"""Starting the real server for a test, bounded in time and always stopped by its process group (testkit)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from testkit import processes
from testkit.ports import free_port

VENV_BIN = Path(sys.executable).parent
RESTCOMM = str(VENV_BIN / "restcomm")


def run_cli(*args: str, database_url: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "RESTCOMM_DATABASE_URL": database_url}
    return subprocess.run([RESTCOMM, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)


@contextlib.contextmanager
def running_server(database_url: str, *, lifetime: float = 120, extra_env: dict[str, str] | None = None,
                   ) -> Iterator[str]:
    """`restcomm serve` on free ports; yields its base URL. `timeout` bounds it even if the test hangs."""
    http_port = free_port()
    env = {**os.environ, "RESTCOMM_DATABASE_URL": database_url, "RESTCOMM_HTTP_PORT": str(http_port),
           "RESTCOMM_SIP_PORT": str(free_port(socket.SOCK_DGRAM)), **(extra_env or {})}
    process = processes.start([RESTCOMM, "serve"], lifetime_s=lifetime, output=subprocess.PIPE, env=env, text=True)
    base = f"http://127.0.0.1:{http_port}"
    try:
        _wait_until_listening(base, process)
        yield base
    finally:
        processes.stop(process)


def _wait_until_listening(base: str, process: subprocess.Popen, deadline_s: float = 90) -> None:
    # Generous bounds: on a loaded 2-core machine (the suite runs in several workers) a healthy server has
    # taken 33 s to start and 1.3-2.4 s to answer its first request; /health needs no database and no spec.
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"restcomm serve exited with {process.returncode}:\n{output}")
        try:
            httpx.get(base + "/health", timeout=10)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"restcomm serve did not listen on {base} within {deadline_s} s")

"""Starting the real server for a test, bounded in time and always stopped by its process id."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.ports import free_port

VENV_BIN = Path(sys.executable).parent
RESTCOMM = str(VENV_BIN / "restcomm")


def run_cli(*args: str, database_url: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`restcomm ARGS` without a terminal (stdin is /dev/null), as a script or CI runs it."""
    env = {**os.environ, "RESTCOMM_DATABASE_URL": database_url}
    return subprocess.run([RESTCOMM, *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout, check=False)


@contextlib.contextmanager
def running_server(database_url: str, *, lifetime: float = 120, extra_env: dict[str, str] | None = None,
                   ) -> Iterator[str]:
    """`restcomm serve` on free ports; yields its base URL. `timeout` bounds it even if the test hangs."""
    http_port = free_port()
    env = {**os.environ, "RESTCOMM_DATABASE_URL": database_url, "RESTCOMM_HTTP_PORT": str(http_port),
           "RESTCOMM_SIP_PORT": str(free_port(socket.SOCK_DGRAM)), **(extra_env or {})}
    process = subprocess.Popen(["timeout", "-k", "5", str(lifetime), RESTCOMM, "serve"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    base = f"http://127.0.0.1:{http_port}"
    try:
        _wait_until_listening(base, process)
        yield base
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen, grace_s: float = 10) -> None:
    """SIGTERM to the process's session (it was started with start_new_session), SIGKILL after `grace_s`."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def stop_process_group_async(process: asyncio.subprocess.Process, grace_s: float) -> None:
    """The asyncio twin of stop_process_group: SIGTERM to the session, SIGKILL after `grace_s`."""
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), grace_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


def _wait_until_listening(base: str, process: subprocess.Popen, deadline_s: float = 30) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"restcomm serve exited with {process.returncode}:\n{output}")
        try:
            httpx.get(base + "/restcomm/2012-04-24/openapi.json", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"restcomm serve did not listen on {base} within {deadline_s} s")

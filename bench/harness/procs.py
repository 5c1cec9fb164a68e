"""The services a benchmark starts (servers, peers, load generators): each with its log, its port, and its
CPU time, started and stopped as testkit.processes does (bounded by `timeout -k`, stopped by process group)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from testkit import processes

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
# What uvicorn logs when the application's lifespan start-up raised.
_STARTUP_FAILED = "Application startup failed"


def workdir(stack: ExitStack, keep: Path | None, prefix: str) -> Path:
    """Where a run's logs and files go: `keep` (--keep-files), made if missing and left behind, else a scratch
    directory removed when `stack` closes."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        return keep
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))


def restcomm_command() -> list[str]:
    """The `restcomm` console script of this venv (what an operator runs)."""
    script = Path(sys.executable).parent / "restcomm"
    return [str(script)] if script.exists() else [sys.executable, "-m", "restcomm.cli"]


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def server_pid(self) -> int:
        """The server's own pid (the child of `timeout`), e.g. for py-spy."""
        return processes.child_pid(self.process.pid)

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far (testkit.processes.cpu_seconds: every thread, to the ns)."""
        return processes.cpu_seconds(self.server_pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def start_service(
    name: str,
    argv: Sequence[str],
    port: int,
    log_dir: Path,
    *,
    lifetime: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Service:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = processes.start(argv, lifetime_s=lifetime, output=log, cwd=cwd or PROJECT_ROOT,
                                  env={**_without_restcomm_settings(os.environ), **(env or {})})
    return Service(name, process, port, log_path)


def _without_restcomm_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment minus RESTCOMM_* settings: a server is configured by its flags alone, so a variable
    left in the shell (another admin password, response validation on) cannot change what is measured."""
    return {key: value for key, value in environ.items() if not key.startswith("RESTCOMM_")}


def wait_ready(service: Service, path: str, auth: tuple[str, str] | None, deadline_s: float = 60.0) -> None:
    """Poll `path` until it answers 200; fail early (with the log) if the server died."""
    deadline = time.monotonic() + deadline_s
    last_error = ""
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited with {service.process.returncode}:\n{service.log_tail()}")
        if _STARTUP_FAILED in service.log_tail(5):
            # uvicorn gave up, but the process may linger (a non-daemon thread): no point waiting for it.
            raise RuntimeError(f"{service.name} failed to start:\n{service.log_tail(60)}")
        try:
            response = httpx.get(service.base_url + path, auth=auth, timeout=2.0)
            if response.status_code == 200:
                return
            last_error = f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.TransportError as exc:
            last_error = repr(exc)
        time.sleep(0.2)
    raise RuntimeError(f"{service.name} not ready after {deadline_s:.0f} s ({last_error}):\n{service.log_tail()}")


def stop(service: Service, grace_s: float = 10.0) -> None:
    """SIGTERM to its process group, then SIGKILL if it has not exited within `grace_s`."""
    processes.stop(service.process, grace_s)

"""Processes a test or a benchmark starts: bounded in time, in a session of their own, stopped by process group.

Each command runs under coreutils `timeout -k`, so even if the process that started it is killed outright
(SIGKILL, no `finally`), nothing outlives its lifetime. It gets a session of its own (`start_new_session`): a
Ctrl-C in the terminal reaches only the starter, and `stop` signals the whole group (`timeout`, the command
and whatever it forked) by the group's id, never by a name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

# How long `timeout` waits after its SIGTERM before it sends SIGKILL.
KILL_AFTER_S = 5


def bounded(argv: Sequence[str], lifetime_s: float) -> list[str]:
    """`argv` under `timeout -k`: killed after `lifetime_s` seconds whatever happens to its starter."""
    return ["timeout", "-k", str(KILL_AFTER_S), str(max(1, int(lifetime_s))), *argv]


def start(argv: Sequence[str], *, lifetime_s: float, output: IO[Any] | int | None = subprocess.DEVNULL,
          stdin: IO[Any] | int | None = subprocess.DEVNULL, stderr: IO[Any] | int | None = subprocess.STDOUT,
          env: Mapping[str, str] | None = None, cwd: Path | str | None = None, text: bool = False,
          ) -> subprocess.Popen:
    """Starts `argv` bounded and in its own session; its stdout goes to `output`, its stderr with it unless
    `stderr` says otherwise (None: this process's)."""
    return subprocess.Popen(bounded(argv, lifetime_s), stdin=stdin, stdout=output, stderr=stderr,
                            env=dict(env) if env is not None else None, cwd=cwd, text=text,
                            bufsize=1 if text else -1, start_new_session=True)


async def start_async(argv: Sequence[str], *, lifetime_s: float, output: IO[Any] | int | None = subprocess.DEVNULL,
                      env: Mapping[str, str] | None = None, cwd: Path | str | None = None,
                      ) -> asyncio.subprocess.Process:
    """The asyncio twin of `start`."""
    return await asyncio.create_subprocess_exec(
        *bounded(argv, lifetime_s), stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=asyncio.subprocess.STDOUT,
        env=dict(env) if env is not None else None, cwd=cwd, start_new_session=True)


def stop(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM to the process's group, SIGKILL to it if the process has not exited within `grace_s`."""
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace_s)
    # Whatever the command forked may outlive it: the group goes either way.
    _signal_group(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait()


async def stop_async(process: asyncio.subprocess.Process, grace_s: float = 10.0, *,
                     term_command_only: bool = False) -> None:
    """The asyncio twin of `stop`.

    `term_command_only`: the SIGTERM goes to the command under `timeout` alone, once. Signalled through the
    group, the command gets it twice: straight from us, and again from `timeout`, which relays what it
    receives. A command that stops gracefully on the first and dies on the second (baresip) is cut short
    in the middle of its graceful stop (the BYE of a call it is hanging up, its un-REGISTER).
    """
    if process.returncode is None:
        if term_command_only:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(child_pid(process.pid), signal.SIGTERM)
        else:
            _signal_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), grace_s)
    _signal_group(process.pid, signal.SIGKILL)
    if process.returncode is None:
        await process.wait()


def _signal_group(pgid: int, signum: int) -> None:
    # The group's leader is the `timeout` we started (start_new_session made its pid the group's id).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def child_pid(pid: int) -> int:
    """The first child of `pid` (the command under `timeout`), or `pid` itself when it has none (yet)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return pid
    return int(children[0]) if children else pid


def cpu_seconds(pid: int = 0) -> float:
    """CPU time (user + system) process `pid` has used so far, every thread of it, ended ones included, to the
    nanosecond: the kernel's process CPU clock (`clock_getcpuclockid`). `pid` 0 is this process.

    The one way tests and benchmarks measure CPU: it hardly depends on what else the machine runs, unlike
    wall time, requests/s or latency.
    """
    if pid in (0, os.getpid()):
        return time.clock_gettime(time.CLOCK_PROCESS_CPUTIME_ID)
    # Linux's clock id for another process's CPU clock: MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED).
    return time.clock_gettime(((~pid) << 3) | 2)

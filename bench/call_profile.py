"""Where a call's CPU time goes in the server, for `python -m bench.calls --profile DIR`.

Two sources:

- /proc/PID/task/TID/stat: each thread's exact CPU time (user + system). The server runs the asyncio
  thread (API, call engine, RCML fetch, ORM), sippy's reactor thread and its UDP sender and receiver
  threads, and with SQLite aiosqlite's worker thread.
- py-spy with `--gil --threads` (raw collapsed stacks; in a process bounded by `timeout`): only the thread
  holding the GIL is sampled. Every thread here is Python, so the GIL is the resource one server process
  runs out of: the GIL samples say what it is spent on, whichever thread spends it. (Without `--gil`,
  py-spy counts threads blocked in C extensions, such as sippy's ElPeriodic timer or a ctypes call
  waiting to take the GIL back, as busy.) Shares are turned into ms per call by multiplying with the
  process's CPU per call, which is close but not exact: SQLite's own C code runs without the GIL.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections import Counter
from pathlib import Path

from bench.harness import profiling
from testkit import processes

SAMPLE_RATE = 250
_THREAD_FRAME = re.compile(r"^thread \((\d+)\)(?::\s*(.*))?$")

# Where a sample's time goes: the first rule matching a frame, walking from the leaf towards the root.
# py-spy writes paths relative to sys.path ("calls/owner.py", "sippy/UA.py").
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("database driver (asyncpg / aiosqlite / sqlite3)", ("asyncpg/", "aiosqlite/", "sqlite3/", "models/sqlite_reads")),
    ("Tortoise ORM (query building, row to model)", ("tortoise/", "pypika")),
    ("SIP: sippy (parse, build, transactions, timers)", ("sippy/", "elperiodic/")),
    ("media: RTP endpoint, port pool, SDP", ("sip/media/", "sip/media_factory", "sip/sdp")),
    ("SIP: sip/ (dialogs, legs, crossing to the SIP thread)", ("sip/",)),
    ("RCML fetch and callbacks: HTTP client (aiohttp)", ("aiohttp/", "yarl/", "multidict/", "rcml/http.py")),
    ("call engine, owners, RCML session, callbacks", ("calls/", "rcml/", "models/")),
    ("API: connexion, starlette, handlers", ("connexion/", "starlette/", "anyio/", "handlers/", "restcomm/",
                                             "jsonschema", "referencing/")),
    ("uvicorn / HTTP parsing", ("uvicorn/", "httptools", "h11/")),
    ("logging", ("logging/",)),
    ("import machinery (imports at run time)", ("<frozen importlib",)),
    ("uuid / random (ids, tags, branches)", ("uuid.py", "random.py", "secrets.py")),
    ("event loop (uvloop C code, asyncio)", ("asyncio/", "uvloop", "concurrent/", "threading.py", "selectors.py")),
)


# Frames of this project's own code (not the CLI and uvicorn frames at the root of every stack).
PROJECT_MARKERS = ("(calls/", "(rcml/", "(sip/", "(handlers/", "(models/", "(restcomm/app", "(restcomm/guard")


def stat_cpu_seconds(stat_path: Path) -> float:
    """utime + stime from a /proc .../stat file."""
    fields = stat_path.read_text().rpartition(")")[2].split()  # after "pid (comm)": utime is fields[11]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each living thread of `pid`."""
    times = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            times[int(task.name)] = stat_cpu_seconds(task / "stat")
    return times


def start(pid: int, seconds: float, out: Path) -> subprocess.Popen:
    """py-spy sampling every thread of `pid` for `seconds`; bounded by coreutils `timeout` as well."""
    return profiling.start_recording(pid, seconds, out, rate=SAMPLE_RATE, options=("--threads", "--gil"))


def finish(recorder: subprocess.Popen, seconds: float) -> None:
    """Waits for py-spy to stop by itself (after its --duration) and write its output."""
    profiling.finish_recording(recorder, seconds)


def stop(recorder: subprocess.Popen) -> None:
    """Stops the recorder by its process group now."""
    processes.stop(recorder, grace_s=5)


def _split_thread(frames: list[str]) -> tuple[int, str, list[str]]:
    match = _THREAD_FRAME.match(frames[0])
    if match is None:
        return 0, "?", frames
    return int(match.group(1)), match.group(2) or match.group(1), frames[1:]


def layer_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        where = frame.partition(" (")[2]
        for layer, markers in LAYERS:
            if any(marker in where for marker in markers):
                return layer
    return "other"


def summarize(collapsed: Path, cpu_before: dict[int, float], cpu_after: dict[int, float], calls: int,
              seconds: float, rows: int = 25) -> str:
    """Per thread: CPU ms per call (/proc). Then the GIL-holding samples of all threads: by layer, by frame,
    and the project functions with their callees, each as a share and as ms per call (share x CPU per call)."""
    names: dict[int, str] = {}
    threads: Counter[str] = Counter()
    by_layer: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in profiling.read_collapsed(collapsed):
        tid, name, stack = _split_thread(frames)
        names[tid] = name
        if not stack:
            continue
        threads[name] += count
        by_layer[layer_of(stack)] += count
        own[stack[-1]] += count
        for frame in set(stack):
            inclusive[frame] += count
    used = {tid: cpu_after.get(tid, 0.0) - cpu_before.get(tid, 0.0) for tid in cpu_after}
    per_call = 1000 / max(1, calls)
    cpu_ms = sum(used.values()) * per_call
    samples = sum(threads.values())
    out = [f"{collapsed}: {calls} calls, server {cpu_ms:.2f} ms CPU per call (/proc), by thread:"]
    out += [f"  {seconds_ * per_call:7.2f} ms  {names.get(tid, 'native')} ({tid})"
            for tid, seconds_ in sorted(used.items(), key=lambda item: -item[1]) if seconds_ > 0]
    if not samples:
        return "\n".join([*out, "  no GIL-holding samples"])
    out.append(f"GIL held in {samples} samples = {samples / (SAMPLE_RATE * seconds):.0%} of the time; "
               "share, and ms/call = share x CPU per call")

    def table(title: str, counts: list[tuple[str, int]]) -> None:
        out.append(f"  share  ms/call  {title}")
        out.extend(f"  {n / samples:5.0%}  {cpu_ms * n / samples:7.2f}  {what}" for what, n in counts)

    table("thread", threads.most_common())
    table("layer (innermost matching frame)", by_layer.most_common())
    table("frame (self)", own.most_common(rows))
    table("project function (with callees)",
          [(f, n) for f, n in inclusive.most_common() if any(p in f for p in PROJECT_MARKERS)][:rows])
    return "\n".join(out)

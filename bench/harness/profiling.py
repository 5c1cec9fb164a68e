"""Optional sampling profiles of the server while it is under load (`--profile DIR`), with py-spy.

py-spy is not a dependency of the project: `.venv/bin/pip install py-spy`. Profiles are taken in extra
runs after the measured ones, so sampling never slows a figure that is reported. Each profile is written
in py-spy's "raw" (collapsed stacks) form, which tools such as flamegraph.pl and speedscope read, and is
summarised here as the functions that take the most samples.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from testkit import processes

SUMMARY_ROWS = 25


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


def start_recording(pid: int, seconds: float, out: Path, *, rate: int = 250,
                    options: Sequence[str] = ()) -> subprocess.Popen:
    """py-spy sampling `pid` for `seconds` into `out` (collapsed stacks); it stops itself, and is bounded as
    every process a benchmark starts (testkit.processes). `options`: e.g. --gil, --threads."""
    argv = [py_spy(), "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))), "--rate", str(rate),
            "--format", "raw", *options, "--output", str(out), "--nonblocking"]
    return processes.start(argv, lifetime_s=seconds + 30)


def finish_recording(recorder: subprocess.Popen, seconds: float) -> None:
    """Waits for py-spy to stop by itself (after its --duration) and write its output; stops it if it does not."""
    try:
        recorder.wait(seconds + 30)
    except subprocess.TimeoutExpired:
        processes.stop(recorder, grace_s=5)


# Where a sample's time goes, judged by its innermost frame that matches: the first rule that matches
# a frame, walking from the leaf towards the root, names the layer. Async stacks in py-spy start at the
# coroutine the event loop resumed, so "which layer" is more telling than the root-to-leaf inclusive view.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("database driver (asyncpg / aiosqlite)", ("asyncpg/", "aiosqlite/", "sqlite3/")),
    ("Tortoise ORM (query building, row to model)", ("tortoise/", "pypika", "iso8601/")),
    ("rendering (call_fields, orjson)", ("handlers/render.py", "handlers/calls.py:call_fields", "orjson")),
    ("auth and tenancy (handlers/auth, directory)", ("handlers/auth.py", "models/directory.py",
                                                      "models/account.py")),
    ("connexion security", ("connexion/security.py", "connexion/middleware/security.py")),
    ("parameter validation (connexion, jsonschema)", ("connexion/validators/", "restcomm/validation.py",
                                                       "jsonschema", "referencing/")),
    ("connexion decorators (arguments, response)", ("connexion/decorators/", "connexion/lifecycle.py")),
    # Mostly the two socket writes uvicorn makes per response (headers, then body).
    ("response write (starlette Response, uvicorn send)", ("starlette/responses.py",
                                                           "httptools_impl.py:RequestResponseCycle.send")),
    ("request guard (restcomm/guard.py)", ("restcomm/guard.py",)),
    ("handlers (other)", ("handlers/",)),
    ("connexion + starlette middleware and routing", ("connexion/", "starlette/", "restcomm/app.py")),
    ("uvicorn protocol / HTTP parsing", ("uvicorn/",)),
    # uvloop's own work (socket reads, callbacks, task switches) is sampled as the frame that runs it.
    ("event loop (uvloop I/O and scheduling)", ("asyncio/",)),
)
OTHER = "event loop and other"


def _frame_key(frame: str) -> str:
    """`fetch_call (handlers/calls.py:87)` -> `handlers/calls.py:fetch_call`."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rpartition(":")[0]
    return f"{path}:{name}"


def layer_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        key = _frame_key(frame)
        for layer, markers in LAYERS:
            if any(marker in key for marker in markers):
                return layer
    return OTHER


def read_collapsed(collapsed: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack:
            stacks.append((stack.split(";"), int(count_text)))
    return stacks


def summarize(collapsed: Path, rows: int = SUMMARY_ROWS) -> str:
    """Share of samples by layer, then the frames with the most self time."""
    stacks = read_collapsed(collapsed)
    total = sum(count for _, count in stacks)
    if not total:
        return f"{collapsed}: no samples"
    layers: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, count in stacks:
        layers[layer_of(frames)] += count
        own[frames[-1]] += count
    out = [f"{collapsed} ({total} samples, all threads)", "  share  layer"]
    out += [f"  {100 * n / total:5.1f}  {layer}" for layer, n in layers.most_common()]
    out.append("  self%  frame")
    out += [f"  {100 * n / total:5.1f}  {frame}" for frame, n in own.most_common(rows)]
    return "\n".join(out)

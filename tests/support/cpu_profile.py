"""Where the suite's CPU goes: a table of CPU seconds per test module, opt-in with `-p tests.support.cpu_profile`.

`make test` has to fit in 10 minutes on 2 cores, so the suite's CPU (the pytest process and every process its
tests start) is what bounds it. For each test, setup and teardown included, this records the CPU of the pytest
process (getrusage RUSAGE_SELF: every thread, the SIP stack's too) and of the processes it started and waited
for (RUSAGE_CHILDREN: `restcomm serve`, sipp, baresip, Kamailio, chromium, node; a child's own waited children
count in it). A process left to exit after its test is charged to whichever test waits for it; one never
waited for (killed with its group after its parent exited) is not counted. The process's start-up and collection
is a row of its own.

    .venv/bin/pytest -p tests.support.cpu_profile -n 0 tests/test_serve.py

The table is printed at the end of the run, and written as tab-separated lines to $CPU_PROFILE_OUT if set.
Under pytest-xdist each worker counts its own tests: the table is printed for serial runs (-n 0) only, and the
files of the workers are to be added up.
"""

from __future__ import annotations

import os
import resource
import time
from collections import defaultdict
from collections.abc import Iterator

import pytest

_SELF: dict[str, float] = defaultdict(float)
_CHILDREN: dict[str, float] = defaultdict(float)
_WALL: dict[str, float] = defaultdict(float)
_TESTS: dict[str, int] = defaultdict(int)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class _Charge:
    """Adds the CPU and wall time spent between `start` and `stop` to one module's row."""

    def __init__(self) -> None:
        self._at = (0.0, 0.0, 0.0)

    def start(self) -> None:
        self._at = (_cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN), time.monotonic())

    def stop(self, row: str) -> None:
        own, children, wall = self._at
        _SELF[row] += _cpu(resource.RUSAGE_SELF) - own
        _CHILDREN[row] += _cpu(resource.RUSAGE_CHILDREN) - children
        _WALL[row] += time.monotonic() - wall


_CHARGE = _Charge()


@pytest.hookimpl(hookwrapper=True)
def pytest_collection(session: pytest.Session) -> Iterator[None]:
    yield
    # Since the process started: the interpreter, pytest's plugins, the conftests' imports and collection.
    _SELF["(start-up and collection)"] += _cpu(resource.RUSAGE_SELF)
    _CHILDREN["(start-up and collection)"] += _cpu(resource.RUSAGE_CHILDREN)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    row = item.nodeid.split("::", 1)[0]
    _CHARGE.start()
    yield
    _CHARGE.stop(row)
    _TESTS[row] += 1


def _rows() -> list[str]:
    return sorted(_SELF, key=lambda row: _SELF[row] + _CHILDREN[row], reverse=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Writes the rows to $CPU_PROFILE_OUT (under pytest-xdist, one file per worker: $CPU_PROFILE_OUT.gw0, ...)."""
    out = os.environ.get("CPU_PROFILE_OUT")
    if not out or not _SELF:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    with open(f"{out}.{worker}" if worker else out, "w") as file:
        file.write("module\tpytest_cpu_s\tchildren_cpu_s\twall_s\ttests\n")
        for row in _rows():
            file.write(f"{row}\t{_SELF[row]:.3f}\t{_CHILDREN[row]:.3f}\t{_WALL[row]:.3f}\t{_TESTS[row]}\n")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rows = _rows()
    if not rows:
        return
    terminalreporter.section("CPU seconds per test module (tests.support.cpu_profile)")
    total_self, total_children = sum(_SELF.values()), sum(_CHILDREN.values())
    terminalreporter.write_line(f"total: {total_self + total_children:.1f} s CPU (pytest {total_self:.1f}, "
                                f"children {total_children:.1f}), {sum(_WALL.values()):.1f} s wall; "
                                f"load average at the end {os.getloadavg()[0]:.2f}")
    terminalreporter.write_line(f"{'cpu':>8} {'pytest':>8} {'children':>8} {'wall':>8} {'tests':>6}  module")
    for row in rows:
        terminalreporter.write_line(f"{_SELF[row] + _CHILDREN[row]:8.1f} {_SELF[row]:8.1f} {_CHILDREN[row]:8.1f} "
                                    f"{_WALL[row]:8.1f} {_TESTS[row]:6d}  {row}")

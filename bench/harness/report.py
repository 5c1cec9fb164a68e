"""The figures of a run, printed as one table with each target and PASS/FAIL."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    # What the issue asks for, as text ("≥ 1000"); empty for figures shown for comparison only.
    target: str = ""
    passed: bool | None = None
    # How the median was formed, or the spread ("5 runs: 610-655").
    detail: str = ""

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("PASS" if self.passed else "FAIL")


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_table(figures: Sequence[Figure]) -> str:
    header = ("figure", "median", "unit", "target", "result", "detail")
    rows = [(f.name, _number(f.value), f.unit, f.target, f.verdict, f.detail) for f in figures]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        # Numbers right-aligned, text left-aligned.
        pairs = enumerate(zip(cells, widths, strict=True))
        parts = [cell.rjust(width) if i == 1 else cell.ljust(width) for i, (cell, width) in pairs]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def all_passed(figures: Sequence[Figure]) -> bool:
    return all(f.passed is not False for f in figures)


def progress(message: str) -> None:
    """A timestamped line on stderr: progress goes there, the figures' table to stdout."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stop_on_signals() -> None:
    """Ctrl-C and SIGTERM both raise KeyboardInterrupt, through every `finally` that stops a process.

    SIGINT is set explicitly: a shell starts background jobs with it ignored, and Python keeps that.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(_signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt


def run_and_report(run: Callable[[list[Figure]], None], *, require_figures: bool = False) -> int:
    """Runs a benchmark that appends its figures as it measures them, and prints the table whatever happens
    (what was measured before an error or Ctrl-C is still worth seeing). The exit status: 0 when every
    target passed, 1 when one failed (or, with `require_figures`, when nothing was measured), 130 on Ctrl-C.
    """
    stop_on_signals()
    figures: list[Figure] = []
    try:
        run(figures)
    except KeyboardInterrupt:
        progress("interrupted: every process started was stopped")
        return 130
    finally:
        if figures:
            print(format_table(figures), flush=True)
    return 0 if (figures or not require_figures) and all_passed(figures) else 1

"""The figures of a run, printed as one table with each target and PASS/FAIL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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

"""What a feature costs, measured with it on and off in the same run (bench/telemetry.py, bench/sip_messages.py).

One server per variant (the feature on, the feature off), side by side, each with RTP ports and a directory
of its own. They take turns, `--rounds` times, in alternating order (on, off, off, on, ...), so load drifting on
a shared machine hits both alike; the benchmark quotes the median of each variant's steps and their ratio.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
RTP_WIDTH = 2000  # RTP ports per server: 1000 calls at once, far more than a step holds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The step and the rounds, the same in every on/off benchmark."""
    parser.add_argument("--rate", type=float, default=20.0, help="calls/s of each step [%(default)s]")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each step [%(default)s]")
    parser.add_argument("--rounds", type=int, default=5, help="steps per server, alternating [%(default)s]")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="postgres",
                        help="[%(default)s] (each server gets a database of its own)")
    parser.add_argument("--keep-files", type=Path, metavar="DIR", help="keep logs and traces in DIR")


def start_each(variants: dict[str, list[str]], workdir: Path, rtp_first: int,
               start: Callable[[str, list[str], Path], T]) -> dict[str, T]:
    """`start(variant, flags, directory)` for each variant: its flags and `--rtp-ports` of its own (RTP_WIDTH
    ports each from `rtp_first`), its files in workdir/<variant>. Returns what `start` returned, by variant."""
    started = {}
    for index, (variant, flags) in enumerate(variants.items()):
        first = rtp_first + RTP_WIDTH * index
        directory = workdir / variant
        directory.mkdir(exist_ok=True)
        started[variant] = start(variant, [*flags, "--rtp-ports", f"{first}-{first + RTP_WIDTH - 1}"], directory)
    return started


def alternate(variants: Sequence[str], rounds: int, step: Callable[[str, int], T],
              pause_s: float) -> dict[str, list[T]]:
    """`step(variant, round)` for every variant, `rounds` times, the order reversed every other round, with a
    pause after each step (the last step's calls settle). Returns each variant's steps in the order they ran."""
    steps: dict[str, list[T]] = {variant: [] for variant in variants}
    for round_number in range(rounds):
        order = list(variants) if round_number % 2 == 0 else list(reversed(variants))
        for variant in order:
            steps[variant].append(step(variant, round_number))
            time.sleep(pause_s)
    return steps


def spread(values: dict[str, list[float]]) -> str:
    """Every step's figure, by variant ("on: 1.02, 0.98; off: 0.95, 0.97"): how far the median stands from them."""
    return "; ".join(f"{variant}: {', '.join(f'{x:.2f}' for x in figures)}" for variant, figures in values.items())

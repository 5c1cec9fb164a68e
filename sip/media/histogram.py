"""Quantiles of short durations (a relay's added delay, a mixer's time per tick) in constant memory.

stats.GapHistogram's 0.1 ms bins suit packet gaps of about 20 ms; a relay adds tens of microseconds, so
these bins are spaced logarithmically instead: 16 per doubling from 1 µs (each about 4% wide) up to 16 s,
which keeps p50 and p99 of microsecond and millisecond figures alike to within a few percent, in 1.5 kB.
"""

from __future__ import annotations

import math
from array import array

_log2 = math.log2
_PER_DOUBLING = 16
_BINS = 24 * _PER_DOUBLING  # 1 µs to 2**24 µs (16.8 s); longer durations share the last bin


class DurationHistogram:
    """Durations in seconds; quantile() and max in milliseconds."""

    def __init__(self) -> None:
        self._bins = array("I", bytes(4 * _BINS))
        self.count = 0
        self._max_us = 0.0

    def add(self, seconds: float) -> None:
        # Called for every relayed packet: kept to a few operations (the max in µs, converted when read).
        micros = seconds * 1e6
        if micros >= 1.0:
            index = int(_log2(micros) * _PER_DOUBLING) + 1
            self._bins[index if index < _BINS else _BINS - 1] += 1
        else:
            self._bins[0] += 1
        self.count += 1
        if micros > self._max_us:
            self._max_us = micros

    @property
    def max_ms(self) -> float:
        return self._max_us / 1000.0

    def quantile(self, fraction: float) -> float:
        """The upper edge of the bin holding that fraction of the durations, in ms (0.0 when there are none)."""
        if not self.count:
            return 0.0
        wanted = fraction * self.count
        seen = 0
        for index, count in enumerate(self._bins):
            seen += count
            if count and seen >= wanted:
                return min(2.0 ** (index / _PER_DOUBLING) / 1000.0, self.max_ms)
        return self.max_ms

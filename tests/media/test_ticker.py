"""Ticker: 20 ms ticks on absolute deadlines; after the loop was blocked, a short catch-up or a skip."""

from __future__ import annotations

import asyncio
import time

from sip.media.ticker import Ticker


def block_the_loop(seconds: float) -> None:
    """What a slow callback does to every stream of the loop."""
    time.sleep(seconds)


async def test_ticks_keep_time_catch_up_a_short_stall_and_skip_a_long_one() -> None:
    ticks: list[tuple[int, float]] = []
    ticker = Ticker(lambda tick: ticks.append((tick, time.monotonic())))
    ticker.start()
    ticker.start()  # idempotent
    started = time.monotonic()
    await asyncio.sleep(0.2)
    assert [t for t, _ in ticks] == list(range(len(ticks))) and 10 <= len(ticks) <= 11
    assert abs(ticks[-1][1] - started - 0.02 * ticks[-1][0]) < 0.005  # no drift

    block_the_loop(0.05)  # the loop is blocked for two and a half ticks: they run back to back
    await asyncio.sleep(0.03)
    count = len(ticks)
    assert [t for t, _ in ticks] == list(range(count))

    block_the_loop(0.2)  # ten ticks: too many to send in a burst; the numbering jumps to the tick that is due
    await asyncio.sleep(0.01)
    numbers = [t for t, _ in ticks[count:]]
    assert numbers[0] >= count + 9 and numbers == list(range(numbers[0], numbers[0] + len(numbers)))

    ticker.stop()
    stopped = len(ticks)
    await asyncio.sleep(0.05)
    assert len(ticks) == stopped and not ticker.running
    ticker.start()  # numbering goes on, on a fresh schedule
    await asyncio.sleep(0.05)
    ticker.stop()
    assert ticks[stopped][0] == ticks[stopped - 1][0] + 1

"""Ticker: 20 ms ticks on absolute deadlines; after the loop was blocked, a short catch-up or a skip.

On a stepped media clock (tests/media/stepped_clock.py): a stall is the clock moving on without running the
callbacks due, as a blocked loop does, and each tick is seen at the time it ran, so the schedule is checked
exactly. On the real clock a loaded machine holds the loop up at moments of its own choosing (a tick 7 ms late
failed the drift bound of 5 ms), and the stalls the test meant would mix with those it did not. That the media
clock keeps real time is tests/media/test_endpoint.py's pacing test.
"""

from __future__ import annotations

import pytest

from sip.media.endpoint import FRAME_S
from sip.media.ticker import Ticker
from tests.media.stepped_clock import SteppedClock


def test_ticks_keep_time_catch_up_a_short_stall_and_skip_a_long_one(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppedClock().install(monkeypatch)
    ticks: list[tuple[int, float]] = []
    ticker = Ticker(lambda tick: ticks.append((tick, clock.time())))
    ticker.start()
    ticker.start()  # idempotent
    started = clock.time()
    clock.advance(0.21)
    # The first at once, then one every 20 ms of the clock, on absolute deadlines: no drift.
    assert [t for t, _ in ticks] == list(range(11))
    assert [at - started for _, at in ticks] == pytest.approx([n * FRAME_S for n in range(11)], abs=1e-9)

    clock.stall(0.045)  # the loop is blocked for two ticks and more: they run back to back, numbered on
    stall_end = clock.time()
    assert ticks[11:] == [(11, stall_end), (12, stall_end)]
    clock.advance(0.01)
    assert ticks[13] == (13, pytest.approx(started + 13 * FRAME_S))  # and the schedule is kept

    count = len(ticks)
    clock.stall(0.2)  # ten ticks: too many to send in a burst; the numbering jumps to the tick that is due
    due = int((clock.time() - started) / FRAME_S)
    assert ticks[count:] == [(due, clock.time())] and due >= ticks[count - 1][0] + 10
    clock.advance(0.05)
    numbers = [t for t, _ in ticks[count:]]
    assert numbers == list(range(due, due + len(numbers))) and len(numbers) == 3
    assert ticks[-1][1] == pytest.approx(started + numbers[-1] * FRAME_S)

    ticker.stop()
    stopped = len(ticks)
    clock.advance(0.05)
    assert len(ticks) == stopped and not ticker.running
    ticker.start()  # numbering goes on, on a fresh schedule
    restarted = clock.time()
    clock.advance(0.05)
    ticker.stop()
    assert ticks[stopped:] == [(ticks[stopped - 1][0] + 1 + n, pytest.approx(restarted + n * FRAME_S))
                               for n in range(3)]

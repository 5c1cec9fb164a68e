"""Ticker: a callback every 20 ms on absolute deadlines of the shared MediaClock (a mixer's frame clock).

Ticks are numbered from 0, so a consumer can derive RTP timestamps from them (tick * 160). After the loop was
blocked, overdue ticks run back to back up to 60 ms behind; beyond that the missed ticks are skipped and the
next tick's number says how many (a 200 ms stall must not turn into a burst of ten frames, which a receiver
would mostly drop, but the timestamps must still move on with the clock).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sip.media.clock import MediaClock
from sip.media.endpoint import FRAME_S

log = logging.getLogger(__name__)

_MAX_CATCH_UP_S = 0.060


class Ticker:
    def __init__(self, callback: Callable[[int], None]) -> None:
        self._callback = callback
        self._clock: MediaClock | None = None
        self._start = 0.0
        self._tick = 0  # the number of the next tick
        self._running = False
        self._scheduled = False  # a clock callback is pending (stop() then start() must not add a second)

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Ticks from now on; numbering continues where a previous run stopped. Idempotent."""
        if self._running:
            return
        if self._clock is None:
            self._clock = MediaClock.current()
        self._running = True
        self._start = self._clock.time() - self._tick * FRAME_S
        if not self._scheduled:
            self._schedule()

    def time(self) -> float:
        """Now, on the clock the ticks run on: what a tick's callback compares arrival times with, so both are on
        one clock (a test's stepped clock too, not the monotonic clock beside it). Only once started."""
        assert self._clock is not None, "a ticker has its clock once started"
        return self._clock.time()

    def stop(self) -> None:
        """No more ticks (a pending clock callback finds it stopped and does nothing). Idempotent."""
        self._running = False

    def _schedule(self) -> None:
        assert self._clock is not None
        self._scheduled = True
        self._clock.call_at(self._start + self._tick * FRAME_S, self._fire)

    def _fire(self) -> None:
        self._scheduled = False
        assert self._clock is not None
        now = self._clock.time()
        while self._running:
            deadline = self._start + self._tick * FRAME_S
            if deadline > now:
                self._schedule()
                return
            if now - deadline > _MAX_CATCH_UP_S:  # skip to the last tick that is due
                self._tick = int((now - self._start) / FRAME_S)
            tick = self._tick
            self._tick += 1
            try:
                self._callback(tick)
            except Exception:  # one bad frame must not silence a conference for good
                log.exception("media ticker callback failed")

"""One timer for every RTP stream of an event loop: callbacks due in the same millisecond share a wake-up.

Hundreds of streams each sleeping 20 ms between packets would cost the loop a timer, a future and a task
step per packet (about 17 µs on CPython's asyncio); the clock instead keeps one loop timer per distinct
millisecond and runs the packet senders as plain callbacks. Since streams only have 20 distinct phases per
frame period, 400 streams cost at most 1,000 wake-ups a second instead of 20,000.

Deadlines are absolute loop times; a callback runs in the first millisecond tick at or after its deadline
(epoll's own resolution is a millisecond, so nothing is lost).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref
from collections.abc import Callable

log = logging.getLogger(__name__)

# The one piece of module state in the media package: a clock per running loop, shared by its endpoints
# (sharing is the whole point). Weak keys, so a closed and dropped loop takes its clock with it; the clock
# therefore holds no reference to its loop.
_CLOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MediaClock] = weakref.WeakKeyDictionary()


class MediaClock:
    """Millisecond buckets of callbacks for one event loop; get it with MediaClock.current()."""

    def __init__(self) -> None:
        self._due: dict[int, list[Callable[[], None]]] = {}

    @classmethod
    def current(cls) -> MediaClock:
        """The running loop's clock."""
        loop = asyncio.get_running_loop()
        clock = _CLOCKS.get(loop)
        if clock is None:
            clock = _CLOCKS[loop] = cls()
        return clock

    @staticmethod
    def time() -> float:
        """Now, on the event loops' own base (CLOCK_MONOTONIC) but precise: uvloop's loop.time() only counts
        milliseconds, and is read once per loop iteration, which would hide the gaps being measured."""
        return time.monotonic()

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        """Runs `callback` at loop time `when` (to the next millisecond); only from the loop's own thread. No
        handle: to cancel, have the callback check a flag of its own; that keeps the shared lists append-only."""
        tick = math.ceil(when * 1000.0)
        bucket = self._due.get(tick)
        if bucket is None:
            self._due[tick] = [callback]
            asyncio.get_running_loop().call_at(tick / 1000.0, self._fire, tick)
        else:
            bucket.append(callback)

    def _fire(self, tick: int) -> None:
        for callback in self._due.pop(tick, ()):
            try:
                callback()
            except Exception:  # one broken stream must not starve the others sharing this tick
                log.exception("media clock callback failed")

"""A media clock that moves only from one deadline to the next: a sender's own schedule, whatever the load.

On a loaded machine the event loop is held up now and then, and a packet leaves (and is read) late by however
long; arrival times measure the machine as much as the sender. Under this clock the time a packet leaves is the
deadline its sender set, to the microsecond, so a test can check the schedule itself exactly. That real time
keeps pace with the deadlines (no drift) is the pacing test's job, on the real clock.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest

from sip.media.clock import MediaClock

T = TypeVar("T")


class SteppedClock(MediaClock):
    """Callbacks run in the order of their deadlines, each with time() at its deadline; see run()."""

    def __init__(self, now: float = 1000.0) -> None:
        super().__init__()
        self.now = now
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()  # callbacks due at the same time run in the order they were set

    def install(self, monkeypatch: pytest.MonkeyPatch) -> SteppedClock:
        """Makes this the clock of every endpoint (and mixer) opened from now on in the test."""
        monkeypatch.setattr(MediaClock, "current", classmethod(lambda cls: self))
        return self

    def time(self) -> float:  # type: ignore[override]  # an instance's time, not the monotonic clock's
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (when, next(self._order), callback))

    def advance(self, seconds: float) -> None:
        """Time passes with the loop free: every callback due by then runs at its deadline, in order."""
        end = self.now + seconds
        while self._heap and self._heap[0][0] <= end:
            when, _, callback = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            callback()
        self.now = end

    def stall(self, seconds: float) -> None:
        """The loop is blocked for `seconds` (a slow callback): what fell due meanwhile runs after it, late."""
        self.now += seconds
        self.advance(0.0)

    async def run(self, scenario: Coroutine[Any, Any, T], *, settled: Callable[[], bool] = lambda: True,
                  timeout_s: float = 10.0) -> T:
        """Runs `scenario` to its end and returns its result, moving the time to the next deadline whenever
        nothing else can happen before it: the scenario is waiting, and `settled()` (say: every packet sent has
        been read) holds."""
        task = asyncio.ensure_future(scenario)
        give_up = time.monotonic() + timeout_s
        try:
            while not task.done():
                if time.monotonic() > give_up:
                    raise TimeoutError(f"the scenario did not end within {timeout_s} s of real time")
                # A few turns of the loop first: what a callback set off (a play() returning, the next one
                # setting its first deadline, a datagram being read) happens before the time moves on.
                for _ in range(3):
                    await asyncio.sleep(0)
                if self._heap and settled() and not task.done():
                    when, _, callback = heapq.heappop(self._heap)
                    self.now = max(self.now, when)
                    callback()
            return await task
        finally:
            task.cancel()


async def media_sleep(seconds: float) -> None:
    """Waits `seconds` of the loop's MediaClock: real time, or on a stepped clock until run() has moved it on
    that far (asyncio.sleep would wait real time, while the stepped clock stands still or races ahead)."""
    clock = MediaClock.current()
    woken = asyncio.get_running_loop().create_future()
    clock.call_at(clock.time() + seconds, lambda: woken.done() or woken.set_result(None))
    await woken

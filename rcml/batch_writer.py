"""A diagnostics log written behind: what is queued in memory is stored every `interval` seconds (or at once
when woken) with one bulk INSERT, off the call's path, and rows past the retention are deleted every few
minutes by the same task.

Call Events (rcml/event_log.py) and a call's SIP messages (calls/sip_messages.py) are both kept this way; each
says what to take from its queue, how to store a batch and how to purge, and the writer runs the loop. Losing a
batch or a purge is logged and the loop goes on: these rows are diagnostics, never worth taking a call down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

PURGE_EVERY_S = 300.0

Row = TypeVar("Row")


class BatchWriter(Generic[Row]):
    def __init__(self, what: str, *, take: Callable[[], list[Row]], save: Callable[[list[Row]], Awaitable[object]],
                 purge: Callable[[], Awaitable[object]], interval: float,
                 after_flush: Callable[[], None] | None = None) -> None:
        """`what` names the rows in the log ("call events"); `take` empties the queue into a batch, `save`
        stores one, `purge` deletes what is past the retention; `after_flush` runs after each timed flush."""
        self.what = what
        self.interval = interval
        self._take = take
        self._save = save
        self._purge = purge
        self._after_flush = after_flush
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._last_purge = 0.0

    def start(self) -> None:
        """Runs the loop, unless it runs already: a log starts it when it gets its first row."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"writer of {self.what}")

    def wake(self) -> None:
        """Flush now rather than at the end of the interval (a full batch is waiting)."""
        self._wake.set()

    async def flush(self) -> None:
        """Stores what is queued now; a reader that needs what was just recorded calls this first."""
        async with self._lock:
            rows = self._take()
            if not rows:
                return
            try:
                await self._save(rows)
            except Exception:
                log.exception("could not store %d %s", len(rows), self.what)

    async def close(self) -> None:
        """Stops the loop and stores what is still queued."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            await self.flush()
            if self._after_flush is not None:
                self._after_flush()
            if time.monotonic() - self._last_purge > PURGE_EVERY_S:
                self._last_purge = time.monotonic()
                try:
                    await self._purge()
                except Exception:
                    log.exception("could not delete old %s", self.what)

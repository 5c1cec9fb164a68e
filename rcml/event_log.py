"""Call Events, written behind: each webhook's request and response is queued here and stored in batches.

One INSERT per webhook would add a database round trip to every RCML fetch and status callback; the log
keeps them in memory and writes every `interval` seconds (or at once when `batch` are waiting) with one bulk
INSERT, off the call's path. Rows older than the retention are deleted by the same task, every few minutes.
A reader that needs what was just sent calls `flush()` first (the Events lists do).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time

import orjson

from models import clock, sids
from models.call_event import CallEvent, delete_older_than, save_batch
from models.twiml_document import TwimlDocument

log = logging.getLogger(__name__)

# How much of a response body an event keeps: enough to see what the application answered.
BODY_PREFIX = 2048
PURGE_EVERY_S = 300.0


class EventLog:
    def __init__(self, retention_hours: float = 168.0, *, interval: float = 0.25, batch: int = 200) -> None:
        self.retention = dt.timedelta(hours=retention_hours)
        self.interval = interval
        self.batch = batch
        self._pending: list[CallEvent] = []
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._last_purge = 0.0
        self._lock = asyncio.Lock()

    def record(self, *, account_sid: str, call_sid: str, kind: str, method: str, url: str,
               parameters: dict[str, str], status: int | None = None, content_type: str | None = None,
               body: bytes | None = None, duration_s: float = 0.0, error: str | None = None) -> None:
        """Queues one event; never waits and never fails the request it describes."""
        if not call_sid or not account_sid:
            return
        self._pending.append(CallEvent(
            sid=sids.new_sid(sids.CALL_EVENT), account_sid=account_sid, call_sid=call_sid, date_created=clock.now(),
            kind=kind, request_method=method, request_url=url,
            request_parameters=orjson.dumps(parameters).decode(), response_status=status,
            response_content_type=(content_type or None) and content_type[:128],
            response_body=None if body is None else body[:BODY_PREFIX].decode("utf-8", errors="replace"),
            duration_ms=round(duration_s * 1000), error=error,
        ))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())
        if len(self._pending) >= self.batch:
            self._wake.set()

    async def flush(self) -> None:
        async with self._lock:
            events, self._pending = self._pending, []
            if not events:
                return
            try:
                await save_batch(events)
            except Exception:  # the events are diagnostics: losing a batch must not take the writer down
                log.exception("could not store %d call events", len(events))

    async def purge(self) -> int:
        cutoff = clock.now() - self.retention
        deleted = await delete_older_than(cutoff)
        await TwimlDocument.filter(date_created__lt=cutoff).delete()
        return deleted

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            await self.flush()
            if time.monotonic() - self._last_purge > PURGE_EVERY_S:
                self._last_purge = time.monotonic()
                try:
                    await self.purge()
                except Exception:
                    log.exception("could not delete old call events")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

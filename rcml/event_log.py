"""Call Events, written behind: each webhook's request and response is queued here and stored in batches.

One INSERT per webhook would add a database round trip to every RCML fetch and status callback; the log
keeps them in memory and writes every `interval` seconds (or at once when `batch` are waiting) with one bulk
INSERT, off the call's path (rcml/batch_writer.py). Rows older than the retention are deleted by the same task,
every few minutes.
A reader that needs what was just sent calls `flush()` first (the Events lists do).
"""

from __future__ import annotations

import datetime as dt

import orjson

from models import clock, sids
from models.call_event import CallEvent, delete_older_than, save_batch
from models.twiml_document import TwimlDocument
from rcml.batch_writer import BatchWriter

# How much of a response body an event keeps: enough to see what the application answered.
BODY_PREFIX = 2048


class EventLog:
    def __init__(self, retention_hours: float = 168.0, *, interval: float = 0.25, batch: int = 200) -> None:
        self.retention = dt.timedelta(hours=retention_hours)
        self.batch = batch
        self._pending: list[CallEvent] = []
        self._writer = BatchWriter("call events", take=self._take, save=save_batch, purge=self.purge,
                                   interval=interval)

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
        self._writer.start()
        if len(self._pending) >= self.batch:
            self._writer.wake()

    async def flush(self) -> None:
        await self._writer.flush()

    def _take(self) -> list[CallEvent]:
        events, self._pending = self._pending, []
        return events

    async def purge(self) -> int:
        cutoff = clock.now() - self.retention
        deleted = await delete_older_than(cutoff)
        await TwimlDocument.filter(date_created__lt=cutoff).delete()
        return deleted

    async def close(self) -> None:
        await self._writer.close()

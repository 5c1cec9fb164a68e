"""The Call Events log: queued events are written in one batch, and rows past the retention are deleted."""

from __future__ import annotations

import datetime as dt

from models import clock
from models.call_event import CallEvent
from models.twiml_document import TwimlDocument, store
from rcml.event_log import BODY_PREFIX, EventLog


def record(log: EventLog, call_sid: str, **extra) -> None:
    log.record(account_sid="AC" + "1" * 32, call_sid=call_sid, kind="rcml", method="POST", url="http://app/x",
               parameters={"CallSid": call_sid}, **extra)


async def test_events_are_written_together_and_bodies_are_cut(clean_db):
    log = EventLog(retention_hours=1, interval=60)  # no timed flush during the test
    record(log, "CA" + "a" * 32, status=200, body=b"x" * (BODY_PREFIX * 2))
    record(log, "CA" + "a" * 32, error="HttpConnectError: refused")
    assert await CallEvent.all().count() == 0  # queued, not written yet
    await log.flush()
    rows = await CallEvent.all().order_by("date_created")
    assert len(rows) == 2 and len(rows[0].response_body) == BODY_PREFIX and rows[1].response_status is None
    await log.close()


async def test_rows_past_the_retention_are_deleted(clean_db):
    log = EventLog(retention_hours=1, interval=60)
    record(log, "CA" + "b" * 32)
    record(log, "CA" + "c" * 32)
    await log.flush()
    old = clock.now() - dt.timedelta(hours=2)
    await CallEvent.filter(call_sid="CA" + "b" * 32).update(date_created=old)
    stale = await store("AC" + "1" * 32, "<Response/>")
    await TwimlDocument.filter(sid=stale.removeprefix("twiml:")).update(date_created=old)
    assert await log.purge() == 1
    assert [e.call_sid for e in await CallEvent.all()] == ["CA" + "c" * 32]
    assert await TwimlDocument.all().count() == 0
    await log.close()

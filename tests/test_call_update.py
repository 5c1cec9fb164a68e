"""`update_call`: the engine's writes, with statements built once and reused for every call."""

from __future__ import annotations

from models import Call, CallStatus, clock
from models.call import update_call
from tests.conftest import make_call


async def test_a_reused_statement_writes_each_calls_own_values(api):
    first = await make_call(status=CallStatus.RINGING.value)
    second = await make_call(status=CallStatus.QUEUED.value)
    end = clock.now()
    for call, duration in ((first, 3), (second, 7)):
        changed = await update_call(
            call.sid,
            {"status": CallStatus.COMPLETED.value, "end_time": end, "duration": duration, "date_updated": end},
            live_only=True,
        )
        assert changed  # on SQLite it also counts the rows the calls table's triggers changed
    rows = {call.sid: call for call in await Call.filter(sid__in=[first.sid, second.sid])}
    assert (rows[first.sid].status, rows[first.sid].duration) == ("completed", 3)
    assert (rows[second.sid].status, rows[second.sid].duration) == ("completed", 7)
    assert rows[first.sid].end_time == end


async def test_live_only_leaves_a_finished_call_alone(api):
    call = await make_call(status=CallStatus.COMPLETED.value)
    assert await update_call(call.sid, {"status": CallStatus.RINGING.value}, live_only=True) == 0
    assert await update_call(call.sid, {"url": "http://example.com/next"}, live_only=False)
    await call.refresh_from_db()
    assert (call.status, call.url) == ("completed", "http://example.com/next")


async def test_none_is_written_as_null(api):
    call = await make_call(status=CallStatus.RINGING.value, fallback_url="http://example.com/fallback")
    assert await update_call(call.sid, {"fallback_url": None}, live_only=True)
    await call.refresh_from_db()
    assert call.fallback_url is None

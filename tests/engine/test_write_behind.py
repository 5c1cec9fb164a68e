"""A live call's row written behind (calls/call_state.py): a live-to-live status costs no UPDATE of its own
when another follows within WRITE_BEHIND_S, a final status is written at once, and a callback never tells
the application a status the database does not show yet."""

from __future__ import annotations

from calls.call_state import WRITE_BEHIND_S
from calls.types import CallChange
from models import Call, CallStatus
from sip.events import Ringing
from tests.engine.conftest import APP, Harness, answered, eventually


async def test_ringing_then_answered_within_the_window_is_one_update(harness: Harness, updates):
    harness.fetcher.documents[f"{APP}/start"] = '<Response><Pause length="30"/></Response>'
    call, leg = await harness.place()
    leg.deliver(Ringing(180, None))
    leg.deliver(answered())
    await eventually(lambda: updates)
    assert len(updates) == 1
    assert updates[0]["status"] == CallStatus.IN_PROGRESS
    assert (await Call.get(sid=call.sid)).status == CallStatus.IN_PROGRESS


async def test_a_status_callback_waits_for_its_status_to_be_written(harness: Harness, updates):
    call, leg = await harness.place()
    assert harness.callbacks.statuses(call.sid) == ["queued"]
    leg.deliver(Ringing(180, None))
    # Handled at once in memory; written, and then told, WRITE_BEHIND_S later.
    owner = harness.owner(call.sid)
    await eventually(lambda: owner.call.status == CallStatus.RINGING)
    assert (await Call.get(sid=call.sid)).status == CallStatus.QUEUED
    assert harness.callbacks.statuses(call.sid) == ["queued"]
    ringing = await eventually(lambda: "ringing" in harness.callbacks.statuses(call.sid), within=20 * WRITE_BEHIND_S)
    assert ringing
    assert (await Call.get(sid=call.sid)).status == CallStatus.RINGING
    assert [u["status"] for u in updates] == [CallStatus.RINGING]


async def test_the_application_reads_the_status_it_is_told(harness: Harness, updates):
    """The RCML fetch on answer carries CallStatus=in-progress; by then the row says so too."""
    seen: list[str] = []
    fetch = harness.fetcher.fetch

    async def reading(url: str, method: str, parameters: dict[str, str]):
        seen.append((await Call.get(sid=parameters["CallSid"])).status)
        return await fetch(url, method, parameters)

    harness.fetcher.fetch = reading
    harness.fetcher.documents[f"{APP}/start"] = "<Response><Hangup/></Response>"
    call, leg = await harness.place()
    leg.deliver(answered())
    await harness.ended(call.sid)
    assert harness.fetcher.fetches[0][1]["CallStatus"] == CallStatus.IN_PROGRESS
    assert seen == [CallStatus.IN_PROGRESS]


async def test_the_final_status_is_written_at_once_with_what_was_deferred(harness: Harness, updates):
    call, leg = await harness.place()
    leg.deliver(Ringing(180, None))
    await harness.engine.modify_call(call, CallChange(status=CallStatus.CANCELED.value))
    ended = await harness.ended(call.sid)
    assert ended.status == CallStatus.CANCELED
    assert ended.end_time is not None and ended.duration == 0
    # The deferred ringing went out with the cancel (or just before it): never after the end.
    assert updates[-1]["status"] == CallStatus.CANCELED
    assert sum(1 for u in updates if "end_time" in u) == 1

"""TimeLimit (Twilio's per-call limit) in the owner, with the fake SIP stack: it ends the call as our hang-up,
counted from the answer, or from the change that set it; RESTCOMM_MAX_CALL_SECONDS still ends every call."""

from __future__ import annotations

import asyncio

import pytest

from calls.cluster.forward import change_from_json, change_to_json
from calls.types import CallChange
from models import Call, CallStatus, Notification
from sip.events import Ringing
from tests.engine.conftest import APP, Harness, answered

PAUSE = '<Response><Pause length="30"/></Response>'


async def test_the_time_limit_hangs_the_call_up_completed_without_a_notification(harness: Harness):
    harness.fetcher.documents[f"{APP}/start"] = PAUSE
    call, leg = await harness.place(time_limit=1)
    leg.deliver(answered())
    ended = await harness.ended(call.sid)
    assert (ended.status, ended.duration, leg.hangups) == (CallStatus.COMPLETED, 1, 1)
    assert [c.parameters["CallStatus"] for c in harness.callbacks.final(call.sid)] == ["completed"]
    assert await Notification.filter(call_sid=call.sid).count() == 0


async def test_the_servers_cap_ends_a_call_whose_time_limit_is_longer(harness: Harness):
    harness.engine.services.limits.max_call_seconds = 1
    harness.fetcher.documents[f"{APP}/start"] = PAUSE
    call, leg = await harness.place(time_limit=600)
    leg.deliver(answered())
    ended = await harness.ended(call.sid)
    assert (ended.status, ended.duration) == (CallStatus.COMPLETED, 1)
    assert await Notification.filter(call_sid=call.sid, error_code=13250).count() == 1


async def test_a_time_limit_set_while_ringing_counts_from_the_answer(harness: Harness):
    harness.fetcher.documents[f"{APP}/start"] = PAUSE
    call, leg = await harness.place()
    leg.deliver(Ringing(180, None))
    await harness.engine.modify_call(call, CallChange(time_limit=1))
    await asyncio.sleep(0.6)  # counted from here, the call would end 0.4 s after its answer (duration 0)
    leg.deliver(answered())
    ended = await harness.ended(call.sid)
    assert (ended.status, ended.duration) == (CallStatus.COMPLETED, 1)


async def test_a_new_time_limit_replaces_the_old_one(harness: Harness):
    harness.fetcher.documents[f"{APP}/start"] = PAUSE
    call, leg = await harness.place(time_limit=600)
    leg.deliver(answered())
    await harness.engine.modify_call(call, CallChange(time_limit=1))
    ended = await harness.ended(call.sid)
    assert (ended.status, ended.duration) == (CallStatus.COMPLETED, 1)
    # Longer again: the earlier, shorter timer must not fire.
    call, leg = await harness.place(time_limit=1)
    leg.deliver(answered())
    await harness.engine.modify_call(call, CallChange(time_limit=600))
    await asyncio.sleep(1.3)
    assert (await Call.get(sid=call.sid)).status == CallStatus.IN_PROGRESS
    await harness.engine.modify_call(call, CallChange(status=CallStatus.COMPLETED.value))
    assert (await harness.ended(call.sid)).status == CallStatus.COMPLETED


def test_a_time_limit_crosses_to_the_owner_node_as_an_integer():
    assert change_from_json(change_to_json(CallChange(time_limit=30))) == CallChange(time_limit=30)
    for wrong in ("30", True):
        with pytest.raises(ValueError):
            change_from_json({"time_limit": wrong})

"""An outbound call's owner (calls/outbound.py over calls/owner.py), driven through the engine with a fake SIP
stack: what reaches it is handled in the order it arrived, and the call ends once."""

from __future__ import annotations

import pytest

from calls.types import CallChange, CallNotLive
from models import Call, CallStatus
from sip.events import Failed, Ringing
from tests.engine.conftest import APP, Harness, answered

HANGUP = "<Response><Hangup/></Response>"
PAUSE = '<Response><Pause length="30"/></Response>'


async def test_a_call_rings_is_answered_runs_its_application_and_ends_completed(harness: Harness):
    harness.fetcher.documents[f"{APP}/start"] = HANGUP
    call, leg = await harness.place()
    leg.deliver(Ringing(180, None))
    leg.deliver(answered())
    ended = await harness.ended(call.sid)
    assert ended.status == CallStatus.COMPLETED
    assert leg.hangups == 1  # the BYE of <Hangup/>
    assert harness.fetcher.urls() == [f"{APP}/start"]
    assert harness.callbacks.statuses(call.sid) == ["queued", "ringing", "in-progress", "completed"]
    assert harness.owner(call.sid) is None  # the registry lets go of a call that ended


async def test_a_hangup_queued_behind_the_answer_ends_the_call_completed_with_a_bye(harness: Harness):
    """The API's Status=completed arrives while the answer is in the inbox: the answer is handled first, so
    the call was answered and ends `completed` (a BYE), not `canceled` (a CANCEL before any answer)."""
    harness.fetcher.documents[f"{APP}/start"] = PAUSE
    call, leg = await harness.place()
    leg.deliver(Ringing(180, None))
    leg.deliver(answered())
    modified = await harness.engine.modify_call(call, CallChange(status=CallStatus.COMPLETED.value))
    assert modified.status == CallStatus.COMPLETED
    ended = await harness.ended(call.sid)
    assert ended.status == CallStatus.COMPLETED
    assert ended.start_time is not None and ended.end_time is not None
    assert leg.hangups == 1
    assert harness.callbacks.statuses(call.sid) == ["queued", "ringing", "in-progress", "completed"]


async def test_a_redirect_while_ringing_is_kept_for_the_answer(harness: Harness):
    harness.fetcher.documents.update({f"{APP}/start": HANGUP, f"{APP}/new": HANGUP})
    call, leg = await harness.place()
    leg.deliver(Ringing(180, None))
    modified = await harness.engine.modify_call(call, CallChange(url=f"{APP}/new", method="POST"))
    assert modified.status == CallStatus.RINGING
    assert modified.url == f"{APP}/new"
    assert harness.fetcher.fetches == []  # nothing runs before the answer
    leg.deliver(answered())
    await harness.ended(call.sid)
    assert harness.fetcher.urls() == [f"{APP}/new"]


async def test_a_redirect_queued_behind_the_answer_replaces_the_running_document(harness: Harness):
    harness.fetcher.documents.update({f"{APP}/start": PAUSE, f"{APP}/new": HANGUP})
    call, leg = await harness.place()
    leg.deliver(answered())
    modified = await harness.engine.modify_call(call, CallChange(url=f"{APP}/new", method="POST"))
    assert modified.status == CallStatus.IN_PROGRESS  # handled after the answer, and written before the reply
    ended = await harness.ended(call.sid)
    assert ended.status == CallStatus.COMPLETED
    # Answered first, so the new document ran at once (its <Hangup/> ended the call), not at a later answer.
    assert harness.fetcher.urls()[-1] == f"{APP}/new"
    assert leg.hangups == 1


async def test_a_change_queued_behind_the_end_of_the_call_is_refused(harness: Harness):
    """Busy arrives first; the change waiting behind it learns the call ended (CallEnded -> CallNotLive) and
    changes nothing."""
    call, leg = await harness.place()
    leg.deliver(Failed(486, "Busy Here"))
    with pytest.raises(CallNotLive, match="ended as busy"):
        await harness.engine.modify_call(call, CallChange(url=f"{APP}/new", method="POST"))
    ended = await harness.ended(call.sid)
    assert ended.status == CallStatus.BUSY
    assert ended.url == f"{APP}/start"
    assert len(harness.callbacks.final(call.sid)) == 1


async def test_a_modification_of_a_call_that_has_ended_goes_to_its_row(harness: Harness):
    call, leg = await harness.place()
    leg.deliver(Failed(480, "Temporarily Unavailable"))
    assert (await harness.ended(call.sid)).status == CallStatus.NO_ANSWER
    # No owner any more: the engine answers from the row, and a final call never changes.
    with pytest.raises(CallNotLive):
        await harness.engine.modify_call(await Call.get(sid=call.sid), CallChange(status="completed"))
    assert (await Call.get(sid=call.sid)).status == CallStatus.NO_ANSWER

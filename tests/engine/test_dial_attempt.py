"""<Dial> to several destinations (calls/dial_attempt.py): each leg is a call with its own owner, the first
to answer is connected and the others are hung up, all through the legs' inboxes."""

from __future__ import annotations

from calls.types import CallChange
from models import CallStatus
from sip.events import Ended, Failed, Ringing
from tests.engine.conftest import APP, Harness, answered, eventually

BOB, CAROL = "sip:bob@127.0.0.1:5091", "sip:carol@127.0.0.1:5092"
DIAL = f'<Response><Dial action="/after"><Sip>{BOB}</Sip><Sip>{CAROL}</Sip></Dial></Response>'


async def dialling(harness: Harness):
    """A call answered whose application dials Bob and Carol; the caller's call, its leg, and both legs."""
    harness.fetcher.documents.update({f"{APP}/start": DIAL, f"{APP}/after": "<Response><Hangup/></Response>"})
    call, caller_leg = await harness.place()
    caller_leg.deliver(answered())
    bob, carol = await harness.stack.leg_to(BOB), await harness.stack.leg_to(CAROL)
    bob.deliver(Ringing(180, None))
    carol.deliver(Ringing(180, None))
    return call, caller_leg, bob, carol


def after_parameters(harness: Harness) -> dict[str, str]:
    return next(parameters for url, parameters in harness.fetcher.fetches if url == f"{APP}/after")


async def test_the_first_to_answer_is_connected_and_the_others_are_canceled(harness: Harness):
    call, caller_leg, bob, carol = await dialling(harness)
    carol.deliver(answered())
    await eventually(lambda: bob.hangups)  # the CANCEL
    bob_call = await harness.ended(bob.call_sid)
    assert bob_call.status == CallStatus.CANCELED
    assert bob_call.parent_call_sid == call.sid
    carol_owner = harness.owner(carol.call_sid)
    caller_owner = harness.owner(call.sid)
    # The Dial is the connection of both calls; Carol's owner set it in its own turn (it was told to).
    await eventually(lambda: carol_owner.connection is not None)
    assert carol_owner.connection is caller_owner.connection
    carol.deliver(Ended(by_remote=True))  # Carol hangs up: the Dial is over, the caller's document goes on
    ended = await harness.ended(call.sid)
    assert ended.status == CallStatus.COMPLETED
    parameters = after_parameters(harness)
    assert parameters["DialCallSid"] == carol.call_sid
    assert parameters["DialCallStatus"] == "completed"
    # Carol's owner writes her final status in its own turn, which may come after the caller's fetch.
    assert (await harness.ended(carol.call_sid)).status == CallStatus.COMPLETED
    assert caller_leg.hangups == 1  # the <Hangup/> of /after


async def test_two_answering_at_once_connect_one_and_hang_up_the_other(harness: Harness):
    call, _caller_leg, bob, carol = await dialling(harness)
    bob.deliver(answered())
    carol.deliver(answered())
    await eventually(lambda: carol.hangups)  # a BYE: it had answered
    carol_call = await harness.ended(carol.call_sid)
    assert carol_call.status == CallStatus.COMPLETED
    assert harness.owner(call.sid).connection is not None
    assert bob.hangups == 0
    bob_owner = harness.owner(bob.call_sid)
    await eventually(lambda: bob_owner.connection is not None)
    await harness.engine.modify_call(call, CallChange(status="completed"))
    assert (await harness.ended(call.sid)).status == CallStatus.COMPLETED
    # The caller hung up: its Dial lets Bob go too, through his inbox.
    assert (await harness.ended(bob.call_sid)).status == CallStatus.COMPLETED
    assert bob.hangups == 1
    assert len(harness.callbacks.final(call.sid)) == 1


async def test_when_nobody_answers_the_dial_reports_the_best_failure(harness: Harness):
    call, _caller_leg, bob, carol = await dialling(harness)
    bob.deliver(Failed(486, "Busy Here"))
    carol.deliver(Failed(480, "Temporarily Unavailable"))
    await harness.ended(call.sid)
    parameters = after_parameters(harness)
    assert parameters["DialCallStatus"] == "busy"
    assert parameters["DialCallSid"] == carol.call_sid  # the last leg, as RestComm reports it

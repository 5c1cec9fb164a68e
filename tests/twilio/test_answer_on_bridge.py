"""`<Dial answerOnBridge="true">`: an inbound caller is not answered until the dialled party answers (it gets
180 and no 200 OK until then), then both are answered together; without it (the default, and RCML's only
behaviour) the caller is answered as the Dial starts. Real peers: a sipp caller, a sipp callee that rings 3 s."""

from __future__ import annotations

import pytest

from testkit import sipp as sipp_trace
from tests.calls.test_inbound import caller
from tests.support.sipp import Sipp
from tests.twilio.conftest import sdk

NUMBER = "+15551234567"
RINGS_S = 3.0  # uas_answer_late.xml's ringing before its 200 OK


def _first(messages: list[sipp_trace.Message], *, received: bool, status: int) -> sipp_trace.Message:
    return next(m for m in messages if m.received is received and m.status == status)


@pytest.mark.parametrize("answer_on_bridge", [True, False])
async def test_the_caller_is_answered_when_the_callee_answers_only_with_answer_on_bridge(
        server, application, workdir, twilio, answer_on_bridge):
    twiml = (f'<Response><Dial answerOnBridge="{str(answer_on_bridge).lower()}" timeLimit="2">'
             "<Sip>{callee}</Sip></Dial><Hangup/></Response>")
    async with Sipp("uas_answer_late.xml", workdir) as callee:
        voice = application.on("/voice", twiml.format(callee=f"sip:bob@{callee.uri_host}"))
        await sdk(twilio.incoming_phone_numbers.create, phone_number=NUMBER, voice_url=voice)
        async with caller(server, "uac_answered.xml", workdir, dialed=NUMBER[1:]) as phone:
            assert await phone.wait(30) == 0, phone.explain()
        assert await callee.wait(10) == 0, callee.explain()
    heard = list(sipp_trace.messages(phone.message_file))
    ringing = _first(heard, received=True, status=180)
    answered = _first(heard, received=True, status=200)
    callee_answered = _first(list(sipp_trace.messages(callee.message_file)), received=False, status=200)
    assert ringing.at < answered.at
    if answer_on_bridge:
        # Ringing all the while the callee rang, answered only once it had.
        assert answered.at >= callee_answered.at, (answered.at, callee_answered.at)
        assert answered.at - ringing.at >= RINGS_S - 0.2, answered.at - ringing.at
    else:
        # Answered at once, while the callee was still ringing.
        assert answered.at < callee_answered.at - 1.0, (answered.at, callee_answered.at)

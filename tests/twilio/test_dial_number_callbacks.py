"""`<Dial><Number statusCallbackEvent statusCallback statusCallbackMethod>` in a Twilio application: the dialled
leg reports each event asked for, once, with Twilio's parameters, signed so that RequestValidator accepts it."""

from __future__ import annotations

from calls.types import OutboundProxy
from models import Call
from tests.support.sipp import Sipp
from tests.twilio.conftest import sdk
from tests.twilio.test_webhooks import signed


async def test_a_number_reports_the_events_it_asks_for_once_each_signed(server, application, workdir, twilio):
    leg_status = application.on("/leg-status", "")
    twiml = ('<Response><Dial timeLimit="2"><Number statusCallbackEvent="initiated ringing answered completed" '
             f'statusCallback="{leg_status}" statusCallbackMethod="POST">+15551234567</Number></Dial></Response>')
    async with Sipp("uas_answer.xml", workdir) as callee, Sipp("uas_answer.xml", workdir) as caller:
        with server.outbound_proxy(OutboundProxy("127.0.0.1", callee.port)):
            created = await sdk(twilio.calls.create, to=f"sip:alice@{caller.uri_host}", from_="+16175551212",
                                twiml=twiml)
            await server.wait_status(created.sid, "completed", within=20)
            assert await callee.wait() == 0, callee.explain()
    await server.idle()
    [leg] = await Call.filter(parent_call_sid=created.sid)
    reports = application.requests_to("/leg-status")
    assert [r.params["CallStatus"] for r in reports] == ["queued", "ringing", "in-progress", "completed"]
    assert all(r.method == "POST" and signed(r) for r in reports)
    assert {(r.params["CallSid"], r.params["ParentCallSid"]) for r in reports} == {(leg.sid, created.sid)}
    # Twilio's parameters, as for every webhook of a call made through this dialect.
    assert {r.params["ApiVersion"] for r in reports} == {"2010-04-01"}
    assert [r.params.get("SequenceNumber") for r in reports] == ["0", "1", "2", "3"]
    assert reports[-1].params["CallDuration"] and reports[-1].params["To"] == "+15551234567"

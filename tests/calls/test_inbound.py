"""Calls coming in over SIP (contract sections 7 and 9): to a number or a client, answered, refused, cancelled."""

from __future__ import annotations

import asyncio

from models import Call
from tests.conftest import ADMIN_SID
from tests.support.sipp import Sipp

NUMBER = "+15551234567"


def caller(server, scenario: str, workdir, dialed: str = NUMBER, **kwargs) -> Sipp:
    return Sipp(scenario, workdir, target=server.sip, args=["-s", dialed], **kwargs)


async def add_number(server, voice_url: str, **extra: str) -> dict:
    response = await server.post(f"/Accounts/{ADMIN_SID}/IncomingPhoneNumbers.json",
                                 {"PhoneNumber": NUMBER, "VoiceUrl": voice_url, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def test_inbound_call_to_a_number_runs_its_application(server, application, workdir):
    number = await add_number(server, application.on("/voice", '<Response><Pause length="1"/></Response>'),
                              StatusCallback=application.on("/status", ""))
    async with caller(server, "uac_answered.xml", workdir, dialed="15551234567") as peer:
        assert await peer.wait() == 0, peer.explain()
    [call] = await Call.all()
    assert (call.direction, call.status, call.phone_number_sid) == ("inbound", "completed", number["sid"])
    assert (call.from_address, call.to_address, call.caller_name) == ("+15550001111", "15551234567", "Alice Caller")
    assert call.forwarded_from == "+15550002222"
    assert call.duration == 1
    [fetch] = application.requests_to("/voice")
    assert fetch.params["CallStatus"] == "ringing" and fetch.params["Direction"] == "inbound"
    assert fetch.params["SipHeader_X-Ticket"] == "42" and fetch.params["CallerName"] == "Alice Caller"
    assert fetch.params["ForwardedFrom"] == "+15550002222"
    await server.idle()
    [completed] = await application.wait_for("/status")
    assert completed.params["CallStatus"] == "completed" and completed.params["CallSid"] == call.sid
    listed = (await server.get(f"/Accounts/{ADMIN_SID}/Calls.json?Direction=ignored&To=15551234567")).json()
    assert [c["phone_number_sid"] for c in listed["calls"]] == [number["sid"]]


async def test_unknown_number_is_404_and_leaves_no_call(server, workdir):
    async with caller(server, "uac_rejected.xml", workdir, dialed="+15559999999", fill={"code": "404"}) as peer:
        assert await peer.wait() == 0, peer.explain()
    assert await Call.all().count() == 0


async def test_reject_refuses_without_answering(server, application, workdir):
    await add_number(server, application.url("/voice"))
    refusals = (('<Response><Reject reason="busy"/></Response>', 486), ("<Response><Reject/></Response>", 603))
    for document, code in refusals:
        await Call.all().delete()
        application.on("/voice", document)
        async with caller(server, "uac_rejected.xml", workdir, fill={"code": str(code)}) as peer:
            assert await peer.wait() == 0, peer.explain()
        [call] = await Call.all()
        assert call.status == "busy" and call.duration == 0


async def test_caller_cancels_while_the_application_is_fetched(server, application, workdir):
    async def slow(_request):
        await asyncio.sleep(2)
        return "<Response><Hangup/></Response>", 200

    await add_number(server, application.on("/voice", slow))
    async with caller(server, "uac_cancel.xml", workdir) as peer:
        assert await peer.wait() == 0, peer.explain()
    [call] = await Call.all()
    ended = await server.wait_status(call.sid, "canceled")
    assert ended.end_time is not None


async def test_an_unreachable_application_refuses_the_call_with_a_notification(server, application, workdir):
    await add_number(server, application.url("/missing"))
    async with caller(server, "uac_rejected.xml", workdir, fill={"code": "500"}) as peer:
        assert await peer.wait() == 0, peer.explain()
    [call] = await Call.all()
    assert call.status == "failed"
    notes = (await server.get(f"/Accounts/{ADMIN_SID}/Calls/{call.sid}/Notifications.json")).json()
    assert [n["error_code"] for n in notes["notifications"]] == [11200]


async def test_inbound_call_to_a_client_login_runs_the_clients_application(server, application, workdir):
    voice_url = application.on("/bob", '<Response><Pause length="1"/></Response>')
    response = await server.post(f"/Accounts/{ADMIN_SID}/Clients.json",
                                 {"Login": "bob", "Password": "1234", "VoiceUrl": voice_url})
    assert response.status_code == 201
    async with caller(server, "uac_answered.xml", workdir, dialed="bob") as peer:
        assert await peer.wait() == 0, peer.explain()
    [call] = await Call.all()
    assert (call.direction, call.status, call.phone_number_sid) == ("inbound", "completed", None)

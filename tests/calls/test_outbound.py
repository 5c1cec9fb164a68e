"""Calls placed through the API ring real SIP peers (sipp) and end in the right status (contract 6-7)."""

from __future__ import annotations

import socket
import time

from models import Notification
from testkit.ports import free_port
from tests.conftest import ADMIN_SID
from tests.support.sipp import Sipp

HANGUP = "<Response><Hangup/></Response>"
WAIT = '<Response><Pause length="30"/></Response>'


async def test_answered_then_we_hang_up(server, application, workdir):
    url = application.on("/rcml", '<Response><Pause length="1"/></Response>')
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}?X-Ticket=42", url)
        ended = await server.wait_status(call["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    invite = peer.received()[0]
    assert invite.startswith(f"INVITE sip:alice@{peer.uri_host} SIP/2.0")
    assert f"X-RestComm-CallSid: {call['sid']}" in invite
    assert f"X-RestComm-AccountSid: {ADMIN_SID}" in invite
    assert "X-Ticket: 42" in invite
    assert "m=audio" in invite and "RTP/AVP 0 8 101" in invite
    assert any(message.startswith("BYE ") for message in peer.received())
    assert ended.duration == 1 and ended.end_time is not None and ended.price == "0.00"
    [fetch] = application.requests_to("/rcml")
    assert fetch.method == "POST"
    assert fetch.params["CallSid"] == call["sid"] and fetch.params["CallStatus"] == "in-progress"
    assert fetch.params["Direction"] == "outbound-api" and fetch.params["To"] == "alice"


async def test_the_application_reads_back_the_status_it_is_told(server, application, workdir):
    # Statuses are written behind (rcml/owner.py WRITE_BEHIND_S); the RCML request must not overtake them.
    seen: list[tuple[str, str]] = []

    async def read_the_call_back(request):
        response = await server.get(f"/Accounts/{ADMIN_SID}/Calls/{request.params['CallSid']}.json")
        seen.append((request.params["CallStatus"], response.json()["status"]))
        return HANGUP, 200

    url = application.on("/rcml", read_the_call_back)
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url)
        await server.wait_status(call["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    assert seen == [("in-progress", "in-progress")]


async def test_answered_then_the_peer_hangs_up(server, application, workdir):
    url = application.on("/rcml", WAIT)
    async with Sipp("uas_bye.xml", workdir) as peer:
        call = await server.place(f"sip:bob@{peer.uri_host}", url)
        ended = await server.wait_status(call["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    assert ended.end_time is not None


async def test_busy(server, application, workdir):
    url = application.on("/rcml", HANGUP)
    async with Sipp("uas_busy.xml", workdir) as peer:
        call = await server.place(f"sip:bob@{peer.uri_host}", url)
        ended = await server.wait_status(call["sid"], "busy")
        assert await peer.wait() == 0, peer.explain()
    assert ended.duration == 0
    assert application.requests_to("/rcml") == []  # never answered: the application is not fetched


async def test_ring_timeout_is_no_answer_with_cancel_on_the_wire(server, application, workdir):
    url = application.on("/rcml", HANGUP)
    async with Sipp("uas_ring_cancel.xml", workdir) as peer:
        started = time.monotonic()
        call = await server.place(f"sip:bob@{peer.uri_host}", url, Timeout="2")
        await server.wait_status(call["sid"], "ringing")
        await server.wait_status(call["sid"], "no-answer")
        elapsed = time.monotonic() - started
        assert await peer.wait() == 0, peer.explain()
    assert 1.8 < elapsed < 4
    assert any(message.startswith("CANCEL ") for message in peer.received())


async def test_a_silent_peer_ends_at_the_timeout(server, application):
    # Bound and silent (no ICMP error comes back): the ring timeout ends it before Timer B would.
    url = application.on("/rcml", HANGUP)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        started = time.monotonic()
        call = await server.place(f"sip:nobody@127.0.0.1:{silent.getsockname()[1]}", url, Timeout="2")
        await server.wait_status(call["sid"], "no-answer")
        assert time.monotonic() - started < 4


async def test_api_cancel_while_ringing(server, application, workdir):
    url = application.on("/rcml", HANGUP)
    async with Sipp("uas_ring_cancel.xml", workdir) as peer:
        call = await server.place(f"sip:bob@{peer.uri_host}", url)
        await server.wait_status(call["sid"], "ringing")
        response = await server.post(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}.json", {"Status": "canceled"})
        assert response.status_code == 200
        assert response.json()["status"] == "canceled"
        assert await peer.wait() == 0, peer.explain()
    assert any(message.startswith("CANCEL ") for message in peer.received())


async def test_api_completes_a_call_in_progress(server, application, workdir):
    url = application.on("/rcml", WAIT)
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:bob@{peer.uri_host}", url)
        await server.wait_status(call["sid"], "in-progress")
        response = await server.post(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}.json", {"Status": "completed"})
        assert response.status_code == 200
        assert response.json()["status"] == "completed"
        assert await peer.wait() == 0, peer.explain()
    again = await server.post(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}.json", {"Status": "completed"})
    assert again.status_code == 409


async def test_fetch_failure_uses_the_fallback_then_records_notifications(server, application, workdir):
    broken = application.on("/broken", lambda _request: ("oops", 500))
    fallback = application.on("/fallback", '<Response><Pause length="1"/><Dance/></Response>')
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:bob@{peer.uri_host}", broken, FallbackUrl=fallback)
        await server.wait_status(call["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    notes = await Notification.filter(call_sid=call["sid"]).order_by("date_created")
    assert [(n.error_code, n.log) for n in notes] == [(11200, 0), (12200, 0)]
    assert notes[0].request_url == broken and notes[0].response_body == "oops"
    assert "<Dance> is not an RCML verb" in notes[1].message_text
    listed = (await server.get(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}/Notifications.json")).json()
    assert listed["total"] == 2


async def test_both_urls_failing_hangs_up_with_a_notification(server, application, workdir):
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:bob@{peer.uri_host}", application.url("/missing"),
                                  FallbackUrl="http://127.0.0.1:9/nothing")
        await server.wait_status(call["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    codes = sorted(n.error_code for n in await Notification.filter(call_sid=call["sid"]))
    assert codes == [11200, 11205]


async def test_redirect_verb_fetches_the_next_document(server, application, workdir):
    first = application.on("/first", '<Response><Redirect method="GET">second</Redirect></Response>')
    application.on("/second", HANGUP)
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:bob@{peer.uri_host}", first)
        await server.wait_status(call["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    [second] = application.requests_to("/second")
    assert second.method == "GET" and second.params["CallSid"] == call["sid"]


async def test_number_without_an_outbound_proxy_fails_with_a_notification(server, application):
    call = await server.place("+15551234567", application.on("/rcml", HANGUP))
    await server.wait_status(call["sid"], "failed")
    [note] = await Notification.filter(call_sid=call["sid"])
    assert note.error_code == 21215 and "RESTCOMM_OUTBOUND_PROXY" in note.message_text


async def test_a_200_ok_without_sdp_is_acknowledged_hung_up_and_failed(server, application, workdir, caplog):
    url = application.on("/rcml", HANGUP)
    async with Sipp("uas_answer_without_sdp.xml", workdir) as peer:
        call = await server.place(f"sip:bob@{peer.uri_host}", url)
        ended = await server.wait_status(call["sid"], "failed")
        assert await peer.wait() == 0, peer.explain()  # it got our ACK, then our BYE
    assert ended.duration == 0
    assert application.requests_to("/rcml") == []  # no media, no application
    [notification] = await Notification.filter(call_sid=call["sid"])
    assert notification.error_code == 13226
    assert "answered 200 OK without an SDP answer" in notification.message_text
    assert f"sip:bob@{peer.uri_host}" in notification.message_text
    assert "Traceback" not in caplog.text and "configure()" not in caplog.text


async def test_nothing_listening_ends_failed_at_once_with_a_notification(server, application):
    url = application.on("/rcml", HANGUP)
    closed = free_port(socket.SOCK_DGRAM)
    started = time.monotonic()
    call = await server.place(f"sip:bob@127.0.0.1:{closed}", url)
    ended = await server.wait_status(call["sid"], "failed", within=5)
    assert time.monotonic() - started < 3  # ICMP port unreachable, not Timer B's 32 s
    assert ended.duration == 0
    [notification] = await Notification.filter(call_sid=call["sid"])
    assert notification.error_code == 13225
    assert notification.message_text == (
        f"The INVITE to sip:bob@127.0.0.1:{closed} (sent to 127.0.0.1:{closed}) got no response: "
        "Connection refused (ECONNREFUSED, reported by ICMP)")

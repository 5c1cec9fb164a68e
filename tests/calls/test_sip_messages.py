"""A call's SIP messages through the API (Calls/{CallSid}/SipMessages): real sipp peers, the wire story in order
with its directions and peers, digest credentials never shown, another tenant's call 404."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import httpx

from tests.calls.test_inbound import add_number, caller
from tests.conftest import ADMIN_SID, BASE, make_account
from tests.sip.test_outbound import CHALLENGE_401
from tests.support.sipp import Sipp

PAUSE_THEN_HANG_UP = '<Response><Pause length="1"/><Hangup/></Response>'


async def story(server, call_sid: str, account_sid: str = ADMIN_SID, *,
                ending: tuple[str, str, int | None] = ("received", "BYE", 200)) -> list[dict]:
    """Every SIP message of the call, oldest first, read page by page (2 a page: the paging is exercised), once its
    last message (`ending`, the answer to the BYE) is stored: the server stores what it captured in batches, so that
    answer may be stored after the call has ended, even between the reads of two pages. After 5 s, what there is."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5.0
    while True:
        response = await server.get(f"/Accounts/{account_sid}/Calls/{call_sid}/SipMessages.json?PageSize=2")
        assert response.status_code == 200, response.text
        page = response.json()
        messages = list(page["sip_messages"])
        while page["next_page_uri"]:
            page = (await server.http.get(page["next_page_uri"])).json()
            messages += page["sip_messages"]
        whole = len(messages) == page["total"]
        if (whole and messages and steps(messages[:1]) == [ending]) or loop.time() > deadline:
            assert whole, (len(messages), page["total"])
            return list(reversed(messages))
        await asyncio.sleep(0.1)


def steps(messages: list[dict]) -> list[tuple[str, str, int | None]]:
    return [(m["direction"], m["method"], m["status_code"]) for m in messages]


async def test_an_outbound_call_lists_its_invite_responses_ack_and_bye_in_order(server, application, workdir):
    url = application.on("/rcml", PAUSE_THEN_HANG_UP)
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url)
        await server.wait_status(call["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    await server.idle()
    messages = await story(server, call["sid"])
    assert steps(messages) == [
        ("sent", "INVITE", None),
        ("received", "INVITE", 180),
        ("received", "INVITE", 200),
        ("sent", "ACK", None),
        ("sent", "BYE", None),
        ("received", "BYE", 200),
    ], steps(messages)
    assert {m["peer"] for m in messages} == {peer.uri_host}
    assert {m["call_sid"] for m in messages} == {call["sid"]}
    assert len({m["sip_call_id"] for m in messages}) == 1
    assert [m["reason"] for m in messages if m["status_code"]] == ["Ringing", "OK", "OK"]
    assert messages[0]["summary"].startswith(f"INVITE sip:alice@{peer.uri_host}")
    assert "m=audio" in messages[0]["summary"]  # the start of the body: the SDP offer
    times = [m["date_created"] for m in messages]
    assert times == sorted(times)
    # The same list in XML.
    xml = ET.fromstring((await server.get(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}/SipMessages")).content)
    listed = xml.find("SipMessages")
    assert listed.attrib["total"] == "6"
    assert [m.findtext("StatusCode") for m in listed.findall("SipMessage")][-3:] == ["200", "180", ""]


async def test_an_inbound_call_lists_100_trying_and_the_callers_requests(server, application, workdir):
    await add_number(server, application.on("/voice", '<Response><Pause length="1"/></Response>'))
    async with caller(server, "uac_answered.xml", workdir, dialed="15551234567") as peer:
        assert await peer.wait() == 0, peer.explain()
    await server.idle()
    calls = (await server.get(f"/Accounts/{ADMIN_SID}/Calls.json")).json()["calls"]
    [call] = calls
    messages = await story(server, call["sid"])
    got = steps(messages)
    assert got[:2] == [("received", "INVITE", None), ("sent", "INVITE", 100)], got
    assert ("sent", "INVITE", 200) in got and ("received", "ACK", None) in got
    assert got.index(("sent", "INVITE", 200)) < got.index(("received", "ACK", None))
    assert ("received", "INFO", None) in got and ("sent", "INFO", 200) in got  # sipp's DTMF
    assert got[-2:] == [("sent", "BYE", None), ("received", "BYE", 200)], got
    assert {m["peer"] for m in messages} == {peer.uri_host}


async def test_digest_credentials_never_appear(server, application, workdir):
    url = application.on("/rcml", "<Response><Hangup/></Response>")
    async with Sipp("uas_challenge.xml", workdir, fill=CHALLENGE_401) as callee:
        call = await server.place(f"sip:alice@{callee.uri_host}?X-Ticket=42", url, Username="alice",
                                  Password="s3cret")
        await server.wait_status(call["sid"], "completed")
        assert await callee.wait() == 0, callee.explain()
    await server.idle()
    messages = await story(server, call["sid"])
    got = steps(messages)
    assert got[:4] == [("sent", "INVITE", None), ("received", "INVITE", 401), ("sent", "ACK", None),
                       ("sent", "INVITE", None)], got
    # The challenge is shown (it holds no secret); the answer to it is not.
    assert "WWW-Authenticate: Digest" in messages[1]["summary"]
    retried = messages[3]["summary"]
    assert "\nAuthorization: [redacted]\n" in retried, retried
    # What sipp received was a real digest answer; none of it is in the API.
    [authorization] = [line for line in callee.received()[2].splitlines() if line.startswith("Authorization:")]
    answer = authorization.split('response="', 1)[1].split('"', 1)[0]
    text = "\n".join(m["summary"] for m in messages)
    assert "s3cret" not in text and answer not in text and 'response="' not in text


async def test_another_accounts_call_is_404(server, application, workdir):
    url = application.on("/rcml", "<Response><Hangup/></Response>")
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url)
        await server.wait_status(call["sid"], "completed")
        await peer.wait()
    await server.idle()
    assert await story(server, call["sid"])  # the owner sees it
    other = await make_account("other@company.com", password="other-password-1")
    async with httpx.AsyncClient(base_url=server.base_url, auth=("other@company.com", "other-password-1")) as them:
        for suffix in (".json", ""):
            response = await them.get(f"{BASE}/Accounts/{other.sid}/Calls/{call['sid']}/SipMessages{suffix}")
            assert response.status_code == 404, response.text
    unknown = await server.get(f"/Accounts/{ADMIN_SID}/Calls/CA{'0' * 32}/SipMessages.json")
    assert unknown.status_code == 404
    bad_anchor = await server.get(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}/SipMessages.json?AfterSid=nope")
    assert bad_anchor.status_code == 400

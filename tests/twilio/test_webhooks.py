"""Webhooks are signed as Twilio signs them (twilio-python's RequestValidator accepts them, and refuses a
tampered one), in both dialects, and each is kept as a Call Event listed through both dialects."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from testkit.application import Received
from tests.conftest import ADMIN_SID, ADMIN_TOKEN
from tests.support.sipp import Sipp
from tests.twilio.conftest import sdk

VALIDATOR = RequestValidator(ADMIN_TOKEN)


def signed(request: Received) -> bool:
    """What an application does with Twilio's library: validate the URL, the POST parameters, the header."""
    params = request.params if request.method == "POST" else {}
    return VALIDATOR.validate(request.url, params, request.headers.get("x-twilio-signature", ""))


async def test_every_webhook_is_signed_and_kept_as_an_event(server, application, workdir, twilio):
    attempts = []

    def failing_callback(request: Received):
        attempts.append(request)
        return ("no", 500) if len(attempts) == 1 else ("ok", 200)

    redirect = application.on("/second", "<Response><Hangup/></Response>")
    first = application.on("/first", f'<Response><Redirect method="GET">{redirect}?step=2</Redirect></Response>')
    callback = application.on("/status", failing_callback)
    async with Sipp("uas_answer.xml", workdir) as peer:
        created = await sdk(twilio.calls.create, to=f"sip:alice@{peer.uri_host}", from_="+16175551212", url=first,
                            status_callback=callback, status_callback_event=["answered", "completed"])
        await server.wait_status(created.sid, "completed")
        assert await peer.wait() == 0, peer.explain()
    await server.idle()
    received = application.received
    assert {r.path for r in received} == {"/first", "/second", "/status"}
    assert all(signed(r) for r in received), [(r.path, r.headers.get("x-twilio-signature")) for r in received]
    assert all(r.headers["x-restcomm-signature"] == r.headers["x-twilio-signature"] for r in received)
    # A forged request: same signature, a parameter changed.
    post = next(r for r in received if r.method == "POST")
    assert not VALIDATOR.validate(post.url, {**post.params, "CallStatus": "failed"}, post.headers["x-twilio-signature"])
    assert not RequestValidator("0" * 32).validate(post.url, post.params, post.headers["x-twilio-signature"])

    # Twilio's Call Events through the SDK: the two fetches and every callback attempt, the failed one included.
    events = await sdk(twilio.calls(created.sid).events.list)
    requested = sorted((e.request["url"].split("?")[0].rsplit("/", 1)[-1], e.response["response_code"])
                       for e in events)
    assert requested == [("first", 200), ("second", 200), ("status", 200), ("status", 200), ("status", 500)]
    fetch = next(e for e in events if e.request["url"].endswith("/first"))
    assert fetch.request["method"] == "POST" and fetch.request["parameters"]["CallSid"] == created.sid
    assert fetch.response["response_body"].startswith("<Response><Redirect")
    assert fetch.response["content_type"].startswith("application/xml")
    get = next(e for e in events if "/second" in e.request["url"])
    assert get.request["method"] == "GET" and "step=2" in get.request["url"]

    # The same events through the RestComm dialect.
    restcomm = await server.get(f"/Accounts/{ADMIN_SID}/Calls/{created.sid}/Events.json")
    assert restcomm.status_code == 200, restcomm.text
    body = restcomm.json()
    assert body["total"] == 5
    assert {e["kind"] for e in body["events"]} == {"rcml", "status-callback"}
    failed = next(e for e in body["events"] if e["response"]["response_code"] == 500)
    assert failed["request"]["parameters"]["CallStatus"] in ("in-progress", "completed")
    xml = await server.get(f"/Accounts/{ADMIN_SID}/Calls/{created.sid}/Events")
    assert xml.status_code == 200 and xml.text.count("<Event>") == 5 and "CallSid=" + created.sid in xml.text


async def test_a_webhook_that_gets_no_answer_is_an_event_with_its_error(server, application, workdir, twilio):
    url = application.on("/app", "<Response><Hangup/></Response>")
    async with Sipp("uas_answer.xml", workdir) as peer:
        created = await sdk(twilio.calls.create, to=f"sip:alice@{peer.uri_host}", from_="+16175551212", url=url,
                            status_callback="http://127.0.0.1:9/closed")
        await server.wait_status(created.sid, "completed")
        assert await peer.wait() == 0, peer.explain()
    await server.idle()
    events = await sdk(twilio.calls(created.sid).events.list)
    refused = [e for e in events if e.request["url"] == "http://127.0.0.1:9/closed"]
    assert refused and all(e.response["response_code"] is None and e.response["error"] for e in refused)


async def test_inline_twiml_runs_and_redirects(server, application, workdir, twilio):
    done = application.on("/done", "<Response><Hangup/></Response>")
    async with Sipp("uas_answer.xml", workdir) as peer:
        created = await sdk(twilio.calls.create, to=f"sip:alice@{peer.uri_host}", from_="+16175551212",
                            twiml='<Response><Pause length="30"/></Response>')
        await server.wait_status(created.sid, "in-progress")
        await sdk(twilio.calls(created.sid).update, twiml=f"<Response><Redirect>{done}</Redirect></Response>")
        [fetch] = await application.wait_for("/done")
        await server.wait_status(created.sid, "completed")
        assert await peer.wait() == 0, peer.explain()
    assert fetch.params["CallSid"] == created.sid and signed(fetch)


@pytest.mark.parametrize("twiml", ["<Response><Say>unclosed</Response>", "x" * 4001])
async def test_bad_inline_twiml_is_refused(server, twilio, twiml):
    from twilio.base.exceptions import TwilioRestException

    with pytest.raises(TwilioRestException) as refused:
        await sdk(twilio.calls.create, to="sip:bob@127.0.0.1:9", from_="+16175551212", twiml=twiml)
    assert refused.value.status == 400


async def test_twilio_calls_announce_twilio_and_restcomm_calls_restcomm(server, application, workdir, twilio):
    url = application.on("/twilio", "<Response><Hangup/></Response>")
    restcomm_url = application.on("/restcomm", "<Response><Hangup/></Response>")
    async with Sipp("uas_answer.xml", workdir, calls=2) as peer:
        created = await sdk(twilio.calls.create, to=f"sip:alice@{peer.uri_host}", from_="+16175551212", url=url)
        await server.wait_status(created.sid, "completed")
        other = await server.place(f"sip:bob@{peer.uri_host}", restcomm_url)
        await server.wait_status(other["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    [twilio_fetch] = application.requests_to("/twilio")
    assert twilio_fetch.params["ApiVersion"] == "2010-04-01"
    assert twilio_fetch.params["Called"] == "alice" and twilio_fetch.params["Caller"] == "+16175551212"
    [restcomm_fetch] = application.requests_to("/restcomm")
    assert restcomm_fetch.params["ApiVersion"] == "2012-04-24" and "Called" not in restcomm_fetch.params
    assert signed(twilio_fetch) and signed(restcomm_fetch)

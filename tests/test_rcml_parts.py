"""The RCML building blocks on their own: parsing, verb attributes, fetching, status callbacks."""

from __future__ import annotations

import pytest

from calls.callbacks import Callback, CallbackSender
from models import Notification
from rcml.documents import DocumentFetcher, FetchFailed
from rcml.http import HttpClient
from rcml.parser import RcmlSyntaxError, parse
from rcml.verbs.table import build
from testkit.application import running_application
from tests.conftest import ADMIN_SID, make_call


def test_document_order_is_kept_across_verb_names():
    root = parse('<Response><Say>a</Say><Play>b.wav</Play><Say>c</Say>'
                 '<Gather numDigits="1"><Say>in</Say><Pause length="2"/><Play>p</Play></Gather></Response>')
    assert [(n.name, n.text) for n in root.children] == [("Say", "a"), ("Play", "b.wav"), ("Say", "c"), ("Gather", "")]
    gather = root.children[3]
    assert gather.attributes == {"numDigits": "1"}
    assert [n.name for n in gather.children] == ["Say", "Pause", "Play"]
    assert gather.children[1].attributes == {"length": "2"}


@pytest.mark.parametrize("text", ["", "<Response>", "<Play>x</Play>", "not xml",
                                  '<!DOCTYPE r [<!ENTITY a "aaaa">]><Response>&a;</Response>'])
def test_what_is_not_rcml(text):
    with pytest.raises(RcmlSyntaxError):
        parse(text)


def test_verbs_take_defaults_for_invalid_attributes_and_name_the_problem():
    verb, problems = build(parse('<Response><Pause length="soon"/></Response>').children[0])
    assert verb.values == {"length": 1}
    assert [(p.code, p.is_error) for p in problems] == [(13910, False)]
    assert "length='soon'" in problems[0].message
    verb, problems = build(parse('<Response><Reject reason="BUSY"/></Response>').children[0])
    assert verb.values == {"reason": "busy"} and problems == []


@pytest.mark.parametrize(("name", "supported_later"), [("Fax", True), ("Sms", True), ("Dance", False)])
def test_verbs_this_build_cannot_run_are_errors(name, supported_later):
    verb, problems = build(parse(f"<Response><{name}/></Response>").children[0])
    assert verb is None
    assert problems[0].is_error
    assert ("not supported by this server yet" in problems[0].message) is supported_later


async def test_fetch_posts_the_parameters_and_gets_by_query():
    async with running_application() as app, HttpClient() as http:
        app.on("/rcml", "<Response><Hangup/></Response>")
        fetcher = DocumentFetcher(http, app.base_url)
        fetched = await fetcher.fetch(app.url("/rcml"), "POST", {"CallSid": "CA1", "From": "+1555"})
        assert [n.name for n in fetched.root.children] == ["Hangup"]
        await fetcher.fetch(app.url("/rcml?existing=1"), "GET", {"CallSid": "CA1"})
        # A path on this server is resolved against the server's base URL.
        await fetcher.fetch("/rcml", "GET", {"To": "alice"})
    post, get, relative = app.requests_to("/rcml")
    assert (post.method, post.params) == ("POST", {"CallSid": "CA1", "From": "+1555"})
    assert (get.method, get.params) == ("GET", {"existing": "1", "CallSid": "CA1"})
    assert relative.params == {"To": "alice"}


async def test_fetch_failures_say_why():
    async with running_application() as app, HttpClient() as http:
        app.on("/broken", lambda _request: ("<oops>", 500))
        app.on("/html", "<html><body>hello</body></html>")
        fetcher = DocumentFetcher(http, app.base_url)
        with pytest.raises(FetchFailed) as server_error:
            await fetcher.fetch(app.url("/broken"), "POST", {})
        assert server_error.value.code == 11200 and server_error.value.status == 500
        assert server_error.value.response_body == "<oops>"
        with pytest.raises(FetchFailed) as not_rcml:
            await fetcher.fetch(app.url("/html"), "GET", {})
        assert not_rcml.value.code == 12100
        with pytest.raises(FetchFailed) as unreachable:
            await fetcher.fetch("http://127.0.0.1:9/nothing", "POST", {"CallSid": "CA1"})
        assert unreachable.value.code == 11205 and unreachable.value.variables == "CallSid=CA1"


async def test_callbacks_arrive_in_order_after_failures(api):
    call = await make_call()
    failures = {"count": 0}

    def flaky(_request):
        failures["count"] += 1
        return ("", 500) if failures["count"] <= 2 else ("", 200)

    async with running_application() as app, HttpClient() as http:
        app.on("/status", flaky)
        sender = CallbackSender(http, app.base_url, retry_delays=(0.05, 0.05, 0.05))
        for number in range(3):
            sender.send(Callback(ADMIN_SID, call.sid, app.url("/status"), "POST", {"SequenceNumber": str(number)}))
        await sender.drain(within=10)
    delivered = [r.params["SequenceNumber"] for r in app.requests_to("/status")]
    assert delivered == ["0", "0", "0", "1", "2"]  # the first one twice refused, then everything in order
    assert await Notification.filter(call_sid=call.sid).count() == 0


async def test_a_callback_that_never_succeeds_becomes_a_warning_notification(api):
    call = await make_call()
    async with running_application() as app, HttpClient() as http:
        app.on("/gone", lambda _request: ("", 404))
        sender = CallbackSender(http, app.base_url, retry_delays=(0.05,))
        sender.send(Callback(ADMIN_SID, call.sid, app.url("/gone"), "GET", {"CallStatus": "completed"}))
        await sender.drain(within=10)
    assert len(app.requests_to("/gone")) == 1  # a 404 is not retried
    notification = await Notification.get(call_sid=call.sid)
    assert (notification.error_code, notification.log) == (15003, 1)
    assert "HTTP 404" in notification.message_text

"""A real call's story in the JSON log: one line per event, in order, each naming the call; no credential."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator

from restcomm import logs
from tests.conftest import ADMIN_SID, ADMIN_TOKEN
from tests.support.sipp import Sipp


@contextlib.contextmanager
def json_log() -> Iterator[io.StringIO]:
    """Everything the process logs, at debug (the SIP trace included), as the server's JSON handler writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter("node-under-test"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def test_the_call_events_in_order_with_its_sid_and_no_token(server, application, workdir):
    # The application's URL carries credentials, as some users' do: they must not reach the log.
    rcml = application.on("/rcml", '<Response><Pause length="1"/><Hangup/></Response>')
    url = rcml.replace("http://", f"http://{ADMIN_SID}:{ADMIN_TOKEN}@")
    status = application.on("/status", "")
    with json_log() as stream:
        async with Sipp("uas_answer.xml", workdir) as peer:
            call = await server.place(f"sip:alice@{peer.uri_host}", url, StatusCallback=status)
            await server.wait_status(call["sid"], "completed")
            assert await peer.wait() == 0, peer.explain()
        await server.idle()
    text = stream.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    mine = [line for line in lines if line.get("call_sid") == call["sid"] and "event" in line]
    assert all(line["account_sid"] == ADMIN_SID and line["node"] == "node-under-test" for line in mine)
    story = [(line["event"], line.get("code") or line.get("status") or line.get("verb")) for line in mine]
    assert story == [
        ("call.created", None),
        ("sip.invite_sent", None),
        ("sip.response", 180),
        ("sip.response", 200),
        ("call.answered", None),
        ("rcml.fetched", 200),
        ("rcml.verb", "Pause"),
        ("rcml.verb", "Hangup"),
        ("call.ended", "completed"),
        ("callback.sent", 200),
    ], story
    assert mine[-1]["call_status"] == "completed" and mine[-1]["attempt"] == 1
    assert mine[-2]["cause"] == "hung up by us"
    assert mine[1]["to"].startswith("sip:alice@")
    fetched = next(line for line in mine if line["event"] == "rcml.fetched")
    assert fetched["url"].startswith(f"http://{ADMIN_SID}:[redacted]@") and fetched["ms"] > 0
    # The SIP trace is there at debug (INVITE on the wire), and the token nowhere in the whole log.
    assert any(line["logger"] == "sip.wire" and "INVITE sip:alice@" in line["message"] for line in lines)
    assert ADMIN_TOKEN not in text

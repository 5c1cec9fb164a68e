"""Status callbacks (contract section 7): subscribed events in order, with the right parameters, retried."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from email.utils import parsedate_to_datetime

from calls import call_rows
from models import Call, CallStatus, clock, sids
from models.node import Node
from tests.conftest import ADMIN_SID
from tests.support.sipp import Sipp

EVENTS = "initiated ringing answered completed"


async def test_every_subscribed_event_in_order(server, application, workdir):
    url = application.on("/rcml", '<Response><Pause length="1"/></Response>')
    status = application.on("/status", "")
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url, StatusCallback=status,
                                  StatusCallbackEvent=EVENTS)
        await server.wait_status(call["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    received = await application.wait_for("/status", 4)
    assert [(r.params["SequenceNumber"], r.params["CallStatus"]) for r in received] == [
        ("0", "queued"), ("1", "ringing"), ("2", "in-progress"), ("3", "completed")]
    for request in received:
        assert request.method == "POST"
        assert request.params["CallSid"] == call["sid"] and request.params["AccountSid"] == ADMIN_SID
        assert request.params["CallbackSource"] == "call-progress-events"
        assert request.params["ApiVersion"] == "2012-04-24" and request.params["Direction"] == "outbound-api"
        assert abs(parsedate_to_datetime(request.params["Timestamp"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(60)
    assert received[-1].params["CallDuration"] == "1"
    assert "CallDuration" not in received[0].params


async def test_default_is_completed_only_and_get_puts_it_in_the_query(server, application, workdir):
    url = application.on("/rcml", "<Response><Hangup/></Response>")
    status = application.on("/status", "")
    async with Sipp("uas_busy.xml", workdir) as peer:
        call = await server.place(f"sip:bob@{peer.uri_host}", url, StatusCallback=status, StatusCallbackMethod="GET")
        await server.wait_status(call["sid"], "busy")
        assert await peer.wait() == 0, peer.explain()
    [completed] = await application.wait_for("/status")
    assert completed.method == "GET"
    assert (completed.params["SequenceNumber"], completed.params["CallStatus"]) == ("0", "busy")
    assert completed.params["CallDuration"] == "0"


async def test_a_receiver_that_fails_twice_still_gets_everything_in_order(server, application, workdir):
    attempts = {"count": 0}

    def flaky(_request):
        attempts["count"] += 1
        return ("", 503) if attempts["count"] <= 2 else ("", 200)

    url = application.on("/rcml", "<Response><Hangup/></Response>")
    status = application.on("/status", flaky)
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:bob@{peer.uri_host}", url, StatusCallback=status,
                                  StatusCallbackEvent="initiated,answered,completed")
        await server.wait_status(call["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    received = await application.wait_for("/status", 5)
    assert [r.params["SequenceNumber"] for r in received] == ["0", "0", "0", "1", "2"]
    assert [r.params["CallStatus"] for r in received[2:]] == ["queued", "in-progress", "completed"]


async def test_calls_left_live_by_a_crash_are_closed_on_restart(server, application):
    status = application.on("/status", "")
    now = clock.now()
    left = await Call.create(
        sid=sids.new_sid(sids.CALL), account_sid=ADMIN_SID, date_created=now, date_updated=now,
        to_address="bob", from_address="alice", status=CallStatus.IN_PROGRESS.value, start_time=now,
        direction="outbound-api", status_callback=status, status_callback_event="completed",
        owner_node=server.engine.node)
    # A node alive elsewhere (its lease current): neither the restart nor the dead-node sweep touches its calls.
    await Node.create(id="another-node", started_at=now, lease_expires=now + dt.timedelta(seconds=60))
    elsewhere = await Call.create(
        sid=sids.new_sid(sids.CALL), account_sid=ADMIN_SID, date_created=now, date_updated=now,
        to_address="bob", from_address="alice", status=CallStatus.IN_PROGRESS.value, start_time=now,
        direction="outbound-api", owner_node="another-node")
    assert await server.engine.recover() == 1
    closed = await Call.get(sid=left.sid)
    assert closed.status == "failed" and closed.end_time is not None
    assert (await Call.get(sid=elsewhere.sid)).status == "in-progress"
    [callback] = await application.wait_for("/status")
    assert callback.params["CallStatus"] == "failed" and callback.params["CallSid"] == left.sid


async def test_a_call_closed_by_a_survivor_while_this_node_was_taken_for_dead_ends_without_a_second_callback(
        server, application, workdir):
    """Issue 15 point 3: the node's lease ran out (a stall), a survivor closed its call `failed` and sent the
    final callback; when the node notices, it hangs the call up and sends no second final callback."""
    url = application.on("/rcml", '<Response><Pause length="30"/></Response>')
    status = application.on("/status", "")
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url, StatusCallback=status)
        await server.wait_status(call["sid"], "in-progress")
        row = await Call.get(sid=call["sid"])
        assert await call_rows.close_as_failed(row)  # what the survivor's sweep does
        await server.engine._lease_lost()  # what the next renewal does when it finds the lease had run out
        assert await peer.wait() == 0, peer.explain()  # BYE
        await server.idle()
    await asyncio.sleep(0.5)
    assert application.requests_to("/status") == []
    assert (await Call.get(sid=call["sid"])).status == "failed"


async def test_a_node_renewing_its_lease_on_time_is_never_told_it_had_run_out(server, caplog):
    """Each test starts from empty tables but for the server's own lease: a node whose lease was wiped under it
    took itself for declared dead at its next renewal, so a real lapse could not be told from the wipe."""
    lease = server.engine.cluster.lease
    before = await Node.get(id=server.engine.node)
    with caplog.at_level(logging.ERROR, logger="calls.cluster.lease"):
        await asyncio.sleep(lease.renew_every * 1.5)  # at least one renewal
    after = await Node.get(id=server.engine.node)
    assert after.renewed_at > before.renewed_at and after.started_at == before.started_at
    assert not [record for record in caplog.records if "had run out" in record.getMessage()]

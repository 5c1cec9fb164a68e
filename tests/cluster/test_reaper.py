"""Dead nodes' calls closed by survivors (issue 15 point 3, issue 12 point 12), on SQLite and PostgreSQL.

The real sweep over a real database and real status callbacks to a real HTTP receiver; the processes that
die are played by rows (a node whose lease ran out, or a node id that never had one). The process-level
version (kill -9 a node) is in test_failover.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest_asyncio

from calls.callbacks import CallbackSender
from calls.cluster.lease import NodeAddress, NodeLease
from calls.cluster.member import ClusterMember
from calls.cluster.reaper import ABANDONED_CODE, Reaper
from models import Call, CallStatus, Conference, ConferenceStatus, Notification, Participant, clock, sids
from models.node import Node, NodeState
from rcml.http import HttpClient
from testkit.application import Application, running_application
from tests.conftest import ADMIN_SID, make_call


@pytest_asyncio.fixture
async def application() -> AsyncIterator[Application]:
    async with running_application() as app:
        yield app


@pytest_asyncio.fixture
async def http() -> AsyncIterator[HttpClient]:
    client = HttpClient(timeout=5.0, connect_timeout=2.0)
    yield client
    await client.aclose()


def sender(http: HttpClient) -> CallbackSender:
    return CallbackSender(http, "http://127.0.0.1", retry_delays=(0.1,))


async def node_row(node_id: str, *, lease_in: float, renewed_at: dt.datetime | None = None) -> Node:
    now = clock.now()
    return await Node.create(id=node_id, sip_address="127.0.0.9:5080", http_address="http://127.0.0.9:8080",
                             state=NodeState.ACTIVE.value, started_at=now,
                             lease_expires=now + dt.timedelta(seconds=lease_in), renewed_at=renewed_at)


async def live_call(owner: str, status_url: str, status: CallStatus = CallStatus.IN_PROGRESS) -> Call:
    return await make_call(status=status.value, owner_node=owner, status_callback=status_url,
                           status_callback_event="completed")


async def test_two_survivors_close_each_call_of_a_dead_node_once(clean_db, application, http):
    status = application.on("/status", "")
    await node_row("dead", lease_in=-1)
    left = [await live_call("dead", status, s) for s in
            (CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS, CallStatus.IN_PROGRESS)]
    ended = await make_call(status=CallStatus.COMPLETED.value, owner_node="dead", duration=7)
    first, second = sender(http), sender(http)
    closed = await asyncio.gather(Reaper("b", first).sweep(), Reaper("c", second).sweep())
    assert sum(closed) == len(left)
    for call in left:
        row = await Call.get(sid=call.sid)
        assert row.status == "failed" and row.end_time is not None and row.duration == 0
        [note] = await Notification.filter(call_sid=call.sid)
        assert note.error_code == ABANDONED_CODE and "dead" in note.message_text
    assert (await Call.get(sid=ended.sid)).status == "completed"
    received = await application.wait_for("/status", len(left))
    await first.drain(5)
    await second.drain(5)
    await asyncio.sleep(0.3)  # a duplicate, if there were one, would arrive now
    received = application.requests_to("/status")
    assert sorted(r.params["CallSid"] for r in received) == sorted(c.sid for c in left)
    assert {r.params["CallStatus"] for r in received} == {"failed"}
    assert not await Node.filter(id="dead").exists()  # its row goes once it is swept


async def test_an_answered_call_of_a_dead_node_lasts_from_its_answer_to_the_nodes_last_renewal(clean_db,
                                                                                              application, http):
    status = application.on("/status", "")
    renewed = clock.now() - dt.timedelta(seconds=8)
    await node_row("dead", lease_in=-2, renewed_at=renewed)
    answered = await make_call(status=CallStatus.IN_PROGRESS.value, owner_node="dead", status_callback=status,
                               answered_at=renewed - dt.timedelta(seconds=7.4),
                               date_created=renewed - dt.timedelta(seconds=9))
    ringing = await make_call(status=CallStatus.RINGING.value, owner_node="dead", status_callback=status,
                              date_created=renewed - dt.timedelta(seconds=1))
    callbacks = sender(http)
    assert await Reaper("b", callbacks).sweep() == 2
    row = await Call.get(sid=answered.sid)
    assert row.status == "failed" and row.duration == 7 and row.end_time == renewed
    unanswered = await Call.get(sid=ringing.sid)
    assert unanswered.duration == 0 and unanswered.end_time == renewed
    finals = {r.params["CallSid"]: r.params for r in await application.wait_for("/status", 2)}
    assert finals[answered.sid]["CallDuration"] == "7" and finals[ringing.sid]["CallDuration"] == "0"
    await callbacks.drain(5)


async def test_a_node_with_a_current_lease_keeps_its_calls(clean_db, application, http):
    status = application.on("/status", "")
    await node_row("alive", lease_in=30)
    call = await live_call("alive", status)
    mine = await live_call("b", status)
    queued_without_sip = await make_call(status=CallStatus.QUEUED.value, owner_node=None)
    assert await Reaper("b", sender(http)).sweep() == 0
    for kept in (call, mine, queued_without_sip):
        assert (await Call.get(sid=kept.sid)).is_live
    assert await Node.filter(id="alive").exists()


async def test_calls_of_a_node_id_that_never_had_a_lease_are_closed_at_start(clean_db, application, http):
    """Issue 12 point 12: the server restarted under another id (another SIP port, another hostname)."""
    status = application.on("/status", "")
    old = await live_call("host-before:5080", status)
    member = ClusterMember(NodeLease("host-now:5090", lambda: NodeAddress("127.0.0.1:5090", "http://x"),
                                     seconds=6), Reaper("host-now:5090", sender(http)))
    try:
        assert await member.start() == 1
        assert (await Call.get(sid=old.sid)).status == "failed"
        [callback] = await application.wait_for("/status")
        assert callback.params["CallSid"] == old.sid and callback.params["CallStatus"] == "failed"
        row = await Node.get(id="host-now:5090")
        assert row.sip_address == "127.0.0.1:5090" and row.state == "active"
        assert row.lease_expires > clock.now() + dt.timedelta(seconds=5)
    finally:
        await member.stop()
    assert not await Node.filter(id="host-now:5090").exists()  # a clean stop leaves nothing to sweep


async def test_the_rooms_of_a_dead_node_end_empty(clean_db, http):
    await node_row("dead", lease_in=-1)
    now = clock.now()
    room = await Conference.create(sid=sids.new_sid(sids.CONFERENCE), account_sid=ADMIN_SID, friendly_name="standup",
                                   status=ConferenceStatus.IN_PROGRESS.value, date_created=now, date_updated=now,
                                   owner_node="dead")
    caller = await make_call(status=CallStatus.IN_PROGRESS.value, owner_node="dead")
    await Participant.create(sid=caller.sid, conference_sid=room.sid, account_sid=ADMIN_SID, date_created=now,
                             date_updated=now)
    await Reaper("b", sender(http)).sweep()
    assert (await Conference.get(sid=room.sid)).status == "completed"
    assert not await Participant.filter(conference_sid=room.sid).exists()


async def test_a_lease_renewed_in_time_stays_current_and_draining_is_recorded(clean_db):
    lease = NodeLease("n1", lambda: NodeAddress("127.0.0.2:5080", "http://127.0.0.2:8080"), seconds=2)
    await lease.renew()
    first = (await Node.get(id="n1")).lease_expires
    await asyncio.sleep(0.05)
    await lease.set_state(NodeState.DRAINING)
    row = await Node.get(id="n1")
    assert row.lease_expires > first and row.state == "draining"
    assert row.http_address == "http://127.0.0.2:8080"

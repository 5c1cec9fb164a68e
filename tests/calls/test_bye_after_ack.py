"""Our BYE on an inbound call waits for the caller's ACK to our 200 (RFC 3261 section 15): the application may
hang up the moment it answers (<Hangup/>, the API), but the caller hears the BYE only once its ACK is in, or once
we gave up on the ACK (64*T1, section 13.3.1.4). The call's status is final at once, its callback sent once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from models import Call
from testkit.sipp import Message, messages
from tests.calls.test_inbound import add_number, caller
from tests.conftest import ADMIN_SID

# How long the late caller keeps its ACK: long enough for the hangup to happen (and be looked at) meanwhile.
ACK_DELAY_MS = 2500
# Timer H as shortened for the caller that never ACKs (32 s otherwise).
TIMER_H_S = 3.0


def wire(peer) -> list[Message]:
    return list(messages(peer.message_file))


def first(trace: list[Message], received: bool, start: str) -> int | None:
    return next((i for i, m in enumerate(trace) if m.received == received and m.first_line.startswith(start)), None)


def story(trace: list[Message]) -> str:
    return "\n".join(f"{'<-' if m.received else '->'} {m.first_line}" for m in trace)


async def finals(server, application) -> list[str]:
    """The final status callbacks, once every callback went out."""
    await server.idle()
    return [r.params["CallStatus"] for r in application.requests_to("/status")
            if r.params["CallStatus"] in ("completed", "failed", "busy", "no-answer", "canceled")]


async def the_call(server, *statuses: str) -> str:
    """The sid of the one call, once it has a row in one of `statuses`."""
    async with asyncio.timeout(10):
        while not (calls := await Call.all()):  # noqa: ASYNC110 - the row is the server's; no event to wait on
            await asyncio.sleep(0.02)
    await server.wait_status(calls[0].sid, *statuses)
    return calls[0].sid


@contextlib.asynccontextmanager
async def timer_h(server, seconds: float) -> AsyncIterator[None]:
    stack = server.engine.stack
    await stack.set_timer_h(seconds)
    try:
        yield
    finally:
        await stack.set_timer_h(32.0)  # SipStack's default, the RFC's


@pytest.mark.parametrize("hangup", ["rcml", "api"])
async def test_our_bye_waits_for_a_late_ack(server, application, workdir, hangup: str):
    """The caller ACKs our 200 late (after its first retransmission): the BYE of a call hung up meanwhile (by its
    document answering with <Hangup/>, or through the API) comes after that ACK, never before it."""
    document = "<Response><Hangup/></Response>" if hangup == "rcml" else '<Response><Pause length="30"/></Response>'
    await add_number(server, application.on("/voice", document), StatusCallback=application.on("/status", ""))
    fill = {"ack_delay_ms": str(ACK_DELAY_MS), "bye_timeout_ms": "10000"}
    async with caller(server, "uac_late_ack.xml", workdir, fill=fill) as peer:
        sid = await the_call(server, "in-progress", "completed")
        if hangup == "api":
            hung_up = await server.post(f"/Accounts/{ADMIN_SID}/Calls/{sid}.json", {"Status": "completed"})
            assert hung_up.json()["status"] == "completed", hung_up.text
        hung_up_at = time.time()
        # Ended for the API (and the database) while the BYE waits for the ACK.
        assert (await server.get(f"/Accounts/{ADMIN_SID}/Calls/{sid}.json")).json()["status"] == "completed"
        code = await peer.wait()
    trace = wire(peer)
    ack, bye = first(trace, False, "ACK "), first(trace, True, "BYE ")
    assert ack is not None and bye is not None and ack < bye, story(trace)
    print(f"{hangup}: hung up {1000 * (trace[ack].at - hung_up_at):.0f} ms before the ACK; the BYE came "
          f"{1000 * (trace[bye].at - trace[ack].at):.1f} ms after it")
    assert hung_up_at < trace[ack].at, "the hangup came after the ACK: this run tested nothing"
    assert code == 0, peer.explain()
    assert [m.status for m in trace[:ack] if m.received].count(200) >= 2, story(trace)  # the 200 retransmitted
    assert await finals(server, application) == ["completed"]


async def test_a_200_never_acked_ends_with_our_bye_at_timer_h(server, application, workdir):
    """The caller's ACK never comes and the document hangs up at once: the 200 is retransmitted until Timer H
    and only then does our BYE end the dialog. The call was completed from the start, one callback."""
    await add_number(server, application.on("/voice", "<Response><Hangup/></Response>"),
                     StatusCallback=application.on("/status", ""))
    async with timer_h(server, TIMER_H_S), \
            caller(server, "uac_never_acks.xml", workdir, fill={"bye_timeout_ms": "20000"}) as peer:
        sid = await the_call(server, "completed")
        # Completed for the API while the 200 still waits for its ACK.
        assert (await server.get(f"/Accounts/{ADMIN_SID}/Calls/{sid}.json")).json()["status"] == "completed"
        code = await peer.wait(30)
    trace = wire(peer)
    bye = first(trace, True, "BYE ")
    assert bye is not None and first(trace, False, "ACK ") is None, story(trace)
    answered = first(trace, True, "SIP/2.0 200")
    print(f"no ACK: the BYE came {trace[bye].at - trace[answered].at:.2f} s after our first 200, "
          f"{[m.status for m in trace[:bye] if m.received].count(200)} copies of it before")
    assert [m.status for m in trace[:bye] if m.received].count(200) >= 3, story(trace)
    assert code == 0, peer.explain()
    assert await finals(server, application) == ["completed"]

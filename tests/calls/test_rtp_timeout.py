"""The RTP timeout (RESTCOMM_RTP_TIMEOUT_SECONDS) against real peers: a callee or a caller that vanishes without a
BYE is hung up; a callee that talks, or holds the call, is not; 0 turns it off. The engine's rules in detail
(counted from the last packet, any RTP counts, a resume counts afresh, ringing is not counted):
tests/engine/test_rtp_timeout.py.

A timeout of 1 s (the setting is read when a call is answered): the four peers of the first test run at once, so
the module adds a few seconds to the suite. SQLite only: nothing here depends on the database (the engine's tests
write the same rows on both)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from models import Call, Notification
from testkit.sipp import Message, messages
from tests.calls.conftest import rtp_timeout
from tests.conftest import ADMIN_SID
from tests.support.pcap import write_pcap
from tests.support.sipp import Sipp

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

TIMEOUT_S = 1
# A hang-up comes within this much past its due time (the check runs at the deadline; then the row and the BYE).
SLACK_S = 1.5
TALK_S = 2.0  # the talking peer's audio: twice the timeout
HOLD_MS = 1500
PAUSE = '<Response><Pause length="30"/></Response>'
NUMBER = "+15551234567"


def sipp_messages(peer: Sipp) -> list[Message]:
    return list(messages(peer.message_file))


def first(trace: list[Message], start: str, *, received: bool, after: float = 0.0) -> Message:
    return next(m for m in trace if m.first_line.startswith(start) and m.received == received and m.at >= after)


async def timed_out(server, sid: str) -> Call:
    """The call's end by the RTP timeout: `completed`, with the warning Notification that says why."""
    ended = await server.wait_status(sid, "completed", within=15)
    [note] = await Notification.filter(call_sid=sid, error_code=13252)
    assert f"No RTP from the far end for {TIMEOUT_S} s" in note.message_text, note.message_text
    return ended


async def test_a_vanished_peer_is_hung_up_one_that_talks_or_holds_is_not(server, application, workdir: Path):
    rcml = application.on("/rcml", PAUSE)
    number = await server.post(f"/Accounts/{ADMIN_SID}/IncomingPhoneNumbers.json",
                               {"PhoneNumber": NUMBER, "VoiceUrl": rcml})
    assert number.status_code == 201, number.text
    status = application.on("/status", "")
    talk = {"media": '<nop><action><exec play_pcap_audio="{}"/></action></nop>'.format(
        write_pcap(bytes(int(TALK_S * 16000)), workdir / "talk.pcap"))}  # silence, as 20 ms PCMU packets

    async def vanished() -> None:
        """Answers, sends no RTP and never hangs up: our BYE comes the timeout after the answer."""
        async with Sipp("uas_answer.xml", workdir) as peer:
            call = await server.place(f"sip:gone@{peer.uri_host}", rcml, StatusCallback=status)
            ended = await timed_out(server, call["sid"])
            assert await peer.wait() == 0, peer.explain()  # it got our BYE, and answered it
        trace = sipp_messages(peer)
        ack = first(trace, "ACK", received=True)
        bye = first(trace, "BYE", received=True)
        assert TIMEOUT_S - 0.2 <= bye.at - ack.at <= TIMEOUT_S + SLACK_S, bye.at - ack.at
        assert ended.duration in (TIMEOUT_S, TIMEOUT_S + 1)
        [final] = await application.wait_for("/status")
        assert (final.params["CallSid"], final.params["CallStatus"]) == (call["sid"], "completed")

    async def vanished_caller() -> None:
        """A call to one of our numbers whose caller sends no RTP after our answer: the same end."""
        async with Sipp("uac_answered.xml", workdir, target=server.sip, args=["-s", NUMBER]) as peer:
            assert await peer.wait() == 0, peer.explain()  # it got our BYE (its scenario fails past 10 s)
        [call] = await Call.filter(direction="inbound")
        await timed_out(server, call.sid)
        trace = sipp_messages(peer)
        answer = first(trace, "SIP/2.0 200", received=True)
        bye = first(trace, "BYE", received=True)
        assert TIMEOUT_S - 0.2 <= bye.at - answer.at <= TIMEOUT_S + SLACK_S, bye.at - answer.at

    async def talking() -> None:
        """Sends audio for twice the timeout: up all along, hung up the timeout after its last packet."""
        async with Sipp("uas_answer_media.xml", workdir, fill=talk) as peer:
            call = await server.place(f"sip:talker@{peer.uri_host}", rcml)
            await server.wait_status(call["sid"], "in-progress")
            await asyncio.sleep(TALK_S - 0.2)
            assert (await Call.get(sid=call["sid"])).status == "in-progress"
            await timed_out(server, call["sid"])
            assert await peer.wait() == 0, peer.explain()
        trace = sipp_messages(peer)
        ack = first(trace, "ACK", received=True)
        bye = first(trace, "BYE", received=True)
        assert TALK_S + TIMEOUT_S - 0.2 <= bye.at - ack.at <= TALK_S + TIMEOUT_S + SLACK_S, bye.at - ack.at

    async def holding() -> None:
        """Holds the call (sendonly) at once and sends nothing, resumes after 1.5 s: the count starts then."""
        async with Sipp("uas_hold.xml", workdir, fill={"hold_ms": str(HOLD_MS)}) as peer:
            call = await server.place(f"sip:holder@{peer.uri_host}", rcml)
            await timed_out(server, call["sid"])
            assert await peer.wait() == 0, peer.explain()  # no BYE during the hold: it would have failed the run
        trace = sipp_messages(peer)
        hold = first(trace, "INVITE", received=False)
        resumed = first(trace, "ACK", received=False, after=hold.at + HOLD_MS / 1000)  # the resume's ACK
        bye = first(trace, "BYE", received=True)
        assert "a=sendonly" in hold.text
        assert TIMEOUT_S - 0.2 <= bye.at - resumed.at <= TIMEOUT_S + SLACK_S, bye.at - resumed.at

    with rtp_timeout(server, TIMEOUT_S):
        async with asyncio.TaskGroup() as peers:  # one failing stops the others
            for peer in (vanished, vanished_caller, talking, holding):
                peers.create_task(peer())


async def test_zero_turns_the_timeout_off(server, application, workdir: Path):
    with rtp_timeout(server, 0):
        async with Sipp("uas_answer.xml", workdir) as peer:
            call = await server.place(f"sip:quiet@{peer.uri_host}", application.on("/rcml", PAUSE))
            await server.wait_status(call["sid"], "in-progress")
            await asyncio.sleep(2 * TIMEOUT_S)  # twice what ended the silent call above
            assert (await Call.get(sid=call["sid"])).status == "in-progress"
            hung_up = await server.post(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}.json", {"Status": "completed"})
            assert hung_up.json()["status"] == "completed"
            assert await peer.wait() == 0, peer.explain()
    assert await Notification.filter(call_sid=call["sid"]).count() == 0

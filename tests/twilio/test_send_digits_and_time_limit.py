"""twilio-python's `send_digits` and `time_limit`, and TwiML's <Number sendDigits>, against real SIP peers.

The keys are read where they arrive: a SIP responder over loopback whose SDP points at a bare RTP socket
(tests/media/peers.py), which records every RFC 4733 packet. Their spacing is read off the RTP timestamps (each
event carries its start), as the far end's DTMF detector reads it, not off arrival times, which on a loaded
machine measure how late the loop got round to sending and reading. The time limits end calls answered by
sipp, which must see our BYE.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from itertools import pairwise

import pytest
from twilio.base.exceptions import TwilioRestException

from calls.types import OutboundProxy
from models import Call, Notification
from sip.media.telephone_event import DIGITS
from tests.conftest import ADMIN_SID
from tests.media.peers import PacketSink, SipResponder
from tests.support.sipp import Sipp
from tests.twilio.conftest import sdk

WAIT = '<Response><Pause length="30"/></Response>'
TELEPHONE_EVENT = 101  # the responder's SDP
# On the RTP timeline (8000 Hz): a key press is 160 ms, and the next follows its end's two repeats a frame apart;
# `w` is half a second of silence more, `W` a second.
KEY = 1280 + 2 * 160
SECOND = 8000  # RTP timestamp units


@dataclass
class KeyPress:
    key: str
    timestamp: int  # its RTP timestamp: when it starts, on the sender's media timeline
    arrived: float  # its first packet's arrival (time.monotonic()): for ordering against other events only
    ssrc: int
    ended: bool  # its end packet (E bit) arrived


@dataclass
class Callee:
    """A SIP UAS over loopback with a recording RTP socket behind it."""

    signalling: SipResponder
    media: PacketSink

    @property
    def uri(self) -> str:
        return f"sip:bob@127.0.0.1:{self.signalling.port}"

    def key_presses(self) -> list[KeyPress]:
        """One per RFC 4733 event (packets sharing a timestamp), in arrival order."""
        presses: dict[int, KeyPress] = {}
        for arrived, packet in self.media.arrivals:
            if packet.payload_type != TELEPHONE_EVENT:
                continue
            press = presses.setdefault(packet.timestamp, KeyPress(DIGITS[packet.payload[0]], packet.timestamp,
                                                                  arrived, packet.ssrc, False))
            press.ended = press.ended or bool(packet.payload[1] & 0x80)
        return list(presses.values())

    async def until_keys(self, count: int, within: float = 10.0) -> list[KeyPress]:
        async with asyncio.timeout(within):
            while sum(press.ended for press in self.key_presses()) < count:  # noqa: ASYNC110 - polling a socket's log
                await asyncio.sleep(0.02)
        return self.key_presses()


def spacing(presses: list[KeyPress]) -> list[int]:
    """From each key press's start to the next one's, in RTP timestamp units, all on one stream."""
    assert len({press.ssrc for press in presses}) == 1
    return [(b.timestamp - a.timestamp) % 2**32 for a, b in pairwise(presses)]


@contextlib.asynccontextmanager
async def callee() -> AsyncIterator[Callee]:
    loop = asyncio.get_running_loop()
    media = await PacketSink.open()
    transport, signalling = await loop.create_datagram_endpoint(lambda: SipResponder(("127.0.0.1", media.port)),
                                                                local_addr=("127.0.0.1", 0))
    try:
        yield Callee(signalling, media)
    finally:
        transport.close()
        media.close()


# --- SendDigits ---------------------------------------------------------------------------------------------

async def test_send_digits_reach_the_callee_in_order_with_the_pause_before_the_document_runs(
        server, application, twilio):
    document = application.on("/doc", WAIT)
    async with callee() as bob:
        call = await sdk(twilio.calls.create, to=bob.uri, from_="+16175551212", url=document, send_digits="1w2#")
        presses = await bob.until_keys(3)
        [fetch] = await application.wait_for("/doc")
        await sdk(twilio.calls(call.sid).update, status="completed")
        await server.wait_status(call.sid, "completed")

    assert [press.key for press in presses] == ["1", "2", "#"]
    assert all(press.ended for press in presses)
    # `w` waits half a second between 1 and 2, nothing between 2 and #.
    assert spacing(presses) == [KEY + SECOND // 2, KEY]
    # Twilio's order: the keys, then the document.
    assert fetch.at > presses[-1].arrived
    assert fetch.params["CallSid"] == call.sid


async def test_send_digits_outside_twilios_alphabet_are_21206_and_place_no_call(server, twilio):
    before = await Call.all().count()
    for bad in ("12A", "1x", "1W", "1" * 33):
        with pytest.raises(TwilioRestException) as refused:
            await sdk(twilio.calls.create, to="sip:bob@127.0.0.1:9", from_="+1617", url="http://127.0.0.1:9/x",
                      send_digits=bad)
        assert (refused.value.status, refused.value.code) == (400, 21206), bad
        assert "SendDigits" in refused.value.msg
    assert await Call.all().count() == before


# --- <Number sendDigits> --------------------------------------------------------------------------------------

async def test_number_send_digits_go_to_the_dialled_party_before_the_bridge(server, application, workdir, twilio):
    status = application.on("/status", "")
    async with callee() as bob, Sipp("uas_answer.xml", workdir) as alice:
        document = ('<Response><Dial timeLimit="3"><Number sendDigits="9W0">+15551230000</Number></Dial>'
                    "</Response>")
        with server.outbound_proxy(OutboundProxy("127.0.0.1", bob.signalling.port)):
            call = await sdk(twilio.calls.create, to=f"sip:alice@{alice.uri_host}", from_="+16175551212",
                             twiml=document, status_callback=status)
            presses = await bob.until_keys(2)
            await server.wait_status(call.sid, "completed", within=20)
        assert await alice.wait() == 0, alice.explain()

    assert [press.key for press in presses] == ["9", "0"]
    # `W` waits a whole second after the 9.
    assert spacing(presses) == [KEY + SECOND]
    [leg] = await Call.filter(parent_call_sid=call.sid)
    assert leg.status == "completed" and leg.to_address.endswith("5551230000")


async def test_number_send_digits_outside_the_alphabet_are_warning_13222_and_the_number_is_dialled(
        server, application, workdir, twilio):
    async with callee() as bob, Sipp("uas_answer.xml", workdir) as alice:
        document = ('<Response><Dial timeLimit="1"><Number sendDigits="12x">+15551230000</Number></Dial>'
                    "</Response>")
        with server.outbound_proxy(OutboundProxy("127.0.0.1", bob.signalling.port)):
            call = await sdk(twilio.calls.create, to=f"sip:alice@{alice.uri_host}", from_="+16175551212",
                             twiml=document)
            await server.wait_status(call.sid, "completed", within=20)
        assert bob.key_presses() == []
    [warning] = await Notification.filter(call_sid=call.sid, error_code=13222)
    assert "sendDigits" in warning.message_text
    [leg] = await Call.filter(parent_call_sid=call.sid)
    assert leg.status == "completed"


# --- TimeLimit ----------------------------------------------------------------------------------------------

async def test_time_limit_hangs_up_at_the_limit_with_one_final_callback(server, application, workdir, twilio):
    status = application.on("/status", "")
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await sdk(twilio.calls.create, to=f"sip:alice@{peer.uri_host}", from_="+16175551212",
                         url=application.on("/doc", WAIT), status_callback=status, time_limit=3)
        ended = await server.wait_status(call.sid, "completed", within=20)
        assert await peer.wait() == 0, peer.explain()
    assert any(message.startswith("BYE ") for message in peer.received())
    assert ended.duration == 3
    fetched = await sdk(twilio.calls(call.sid).fetch)
    assert (fetched.status, fetched.duration) == ("completed", "3")
    await server.idle()
    finals = application.requests_to("/status")
    assert [(r.params["CallStatus"], r.params["CallDuration"]) for r in finals] == [("completed", "3")]
    # Its own limit is no error: no Notification (RESTCOMM_MAX_CALL_SECONDS's 13250 is for the server's cap).
    assert await Notification.filter(call_sid=call.sid).count() == 0


async def test_updating_time_limit_counts_from_the_update(server, application, workdir, twilio):
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await sdk(twilio.calls.create, to=f"sip:alice@{peer.uri_host}", from_="+16175551212",
                         url=application.on("/doc", WAIT), time_limit=600)
        await server.wait_status(call.sid, "in-progress")
        await asyncio.sleep(1.0)
        asked_at = time.monotonic()
        updated = await sdk(twilio.calls(call.sid).update, time_limit=2)
        assert updated.status == "in-progress"
        ended = await server.wait_status(call.sid, "completed", within=20)
        ended_at = time.monotonic()
        assert await peer.wait() == 0, peer.explain()
    assert any(message.startswith("BYE ") for message in peer.received())
    # The 2 s count from the update, not from the answer (which was over a second before it: counted from
    # there, the call would end about a second after the update). A loaded machine can only end it later.
    assert ended_at - asked_at >= 2.0
    assert ended.duration >= 3  # the second before the update and the 2 s after it


async def test_time_limit_out_of_range_is_400_and_changes_nothing(server, application, workdir, twilio):
    for bad in (0, 86401):
        with pytest.raises(TwilioRestException) as refused:
            await sdk(twilio.calls.create, to="sip:bob@127.0.0.1:9", from_="+1617", url="http://127.0.0.1:9/x",
                      time_limit=bad)
        assert refused.value.status == 400 and "TimeLimit" in refused.value.msg, bad
    # What the SDK cannot send (it types time_limit as an int), a form can.
    not_a_number = await server.http.post(f"/2010-04-01/Accounts/{ADMIN_SID}/Calls.json", data={
        "To": "sip:bob@127.0.0.1:9", "From": "+1617", "Url": "http://127.0.0.1:9/x", "TimeLimit": "ten"})
    assert not_a_number.status_code == 400 and "TimeLimit" in not_a_number.json()["message"], not_a_number.text

    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await sdk(twilio.calls.create, to=f"sip:alice@{peer.uri_host}", from_="+16175551212",
                         url=application.on("/doc", WAIT))
        await server.wait_status(call.sid, "in-progress")
        with pytest.raises(TwilioRestException) as refused:
            await sdk(twilio.calls(call.sid).update, time_limit=0)
        assert refused.value.status == 400 and "TimeLimit" in refused.value.msg
        assert (await sdk(twilio.calls(call.sid).fetch)).status == "in-progress"
        await sdk(twilio.calls(call.sid).update, status="completed")
        await server.wait_status(call.sid, "completed")
        assert await peer.wait() == 0, peer.explain()

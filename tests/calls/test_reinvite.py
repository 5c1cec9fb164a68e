"""re-INVITEs that change a call's media, against a real peer (sipp, tests/scenarios/uas_reinvite.xml): the callee
moves its RTP to a new port (a phone changing network, a B2BUA re-anchoring media), holds (sendonly), goes
inactive, resumes, and offers only a codec we lack. The test's own UDP socket is the callee's new media address:
it records the RTP we send there and sends RTP back from it, as the moved phone would.

What must hold: after the move our audio goes to the new port and the peer's packets from there are heard, so the
RTP timeout (1 s here) does not hang the call up; each 200 answers the offer's direction as RFC 3264 section 6.1
asks (sendonly -> recvonly, inactive -> inactive: sipp's check_it fails the run otherwise) and nothing is sent
while the peer holds the call; the offer with no common codec gets 488 and the call goes on as it was; a re-INVITE
without SDP gets our offer and changes nothing (sippy would have taken it for a hold), and the answer in its ACK
counts: a second one, answered sendonly there, holds the call."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import cast

import pytest

from models import Call, Notification
from sip.media import rtp
from testkit.sipp import Message, messages
from tests.calls.conftest import rtp_timeout
from tests.calls.test_hostile_media import add_number, wav_of
from tests.conftest import ADMIN_SID
from tests.support.sipp import Sipp

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

TIMEOUT_S = 1
PHASES_MS = {"moved_ms": 3500, "hold_ms": 1000, "inactive_ms": 600, "resumed_ms": 1000}
REFUSED_MS = 1500  # past the RTP timeout: the old media must still be running
REFRESHED_MS = 1000  # after the first re-INVITE without SDP, whose ACK answers as before
AFTER_REOFFER_S = 1.0
# Packets already on their way when a 200 went out, and the loop's delay in applying the new SDP.
SETTLE_S = 0.15


class MediaSink(asyncio.DatagramProtocol):
    """The callee's new media address: records when each RTP packet from us arrived, and sends RTP back."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.arrivals: list[float] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if rtp.parse(data) is not None:
            self.arrivals.append(time.time())  # wall clock: sipp's trace is stamped with it

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]

    def between(self, start: float, end: float) -> int:
        return sum(start <= at < end for at in self.arrivals)

    async def talk(self, to: tuple[str, int]) -> None:
        """20 ms PCMU packets to `to` until cancelled."""
        assert self.transport is not None
        sequence = 0
        while True:
            self.transport.sendto(rtp.pack(0, sequence == 0, sequence, sequence * 160, 0x5EED, b"\xff" * 160), to)
            sequence += 1
            await asyncio.sleep(0.02)


def sent_invites_and_answers(trace: list[Message]) -> list[tuple[Message, Message]]:
    """Each re-INVITE sipp sent, with the final response it got."""
    pairs = []
    for index, message in enumerate(trace):
        if not message.received and message.first_line.startswith("INVITE"):
            final = next(m for m in trace[index + 1:] if m.received and (m.status or 0) >= 200)
            pairs.append((message, final))
    return pairs


async def test_reinvites_move_hold_resume_and_a_refused_codec(server, application, workdir: Path):
    rcml = application.on("/rcml", '<Response><Play loop="0">tone.wav</Play></Response>')
    application.on("/tone.wav", wav_of(1.0))
    _, sink = await asyncio.get_running_loop().create_datagram_endpoint(MediaSink, local_addr=("127.0.0.1", 0))
    fill = {name: str(ms) for name, ms in PHASES_MS.items()} | {"new_port": str(sink.port),
                                                                 "refused_ms": str(REFUSED_MS),
                                                                 "refreshed_ms": str(REFRESHED_MS)}
    with rtp_timeout(server, TIMEOUT_S):
        async with Sipp("uas_reinvite.xml", workdir, fill=fill) as peer:
            call = await server.place(f"sip:mobile@{peer.uri_host}", rcml)
            sid = call["sid"]
            await server.wait_status(sid, "in-progress")
            media = server.engine.owners[sid].media
            original_port = media.local_address[1]
            # Our audio moves to the new port at the first re-INVITE; the peer talks from there from then on (not
            # before: strict RTP would learn the new source from its packets alone).
            for _ in range(200):
                if media.remote_address == ("127.0.0.1", sink.port):
                    break
                await asyncio.sleep(0.01)
            assert media.remote_address == ("127.0.0.1", sink.port), media.remote_address
            talking = asyncio.create_task(sink.talk(media.local_address))
            try:
                await asyncio.sleep((sum(PHASES_MS.values()) + REFUSED_MS + REFRESHED_MS) / 1000 + AFTER_REOFFER_S)
                # Up past the timeout, after all the re-INVITEs; the moved peer's packets are taken in.
                assert (await Call.get(sid=sid)).status == "in-progress"
                assert media.foreign_packets_dropped == 0
                assert media.local_address[1] == original_port
                hung_up = await server.post(f"/Accounts/{ADMIN_SID}/Calls/{sid}.json", {"Status": "completed"})
                assert hung_up.json()["status"] == "completed"
                assert await peer.wait() == 0, peer.explain()
            finally:
                talking.cancel()
    sink.transport.close()
    assert await Notification.filter(call_sid=sid, error_code=13252).count() == 0

    trace = list(messages(peer.message_file))
    (_, moved_ok), (hold, hold_ok), (inactive, inactive_ok), (resume, resume_ok), (g729, refused), \
        (asks, offered), (asks_again, offered_again) = sent_invites_and_answers(trace)
    assert "a=sendonly" in hold.text and "a=inactive" in inactive.text and "RTP/AVP 18" in g729.text
    for answer, direction in ((moved_ok, "sendrecv"), (hold_ok, "recvonly"), (inactive_ok, "inactive"),
                              (resume_ok, "sendrecv")):
        assert answer.status == 200, answer.first_line
        assert f"a={direction}" in answer.text, answer.text
        assert f"m=audio {original_port} RTP/AVP 0" in answer.text, answer.text  # same port, same codec
    assert refused.status == 488, refused.first_line
    # A re-INVITE without SDP asks for our offer: all we speak, sendrecv, on our port; the ACK answers it.
    for answer in (offered, offered_again):
        assert answer.status == 200 and f"m=audio {original_port} RTP/AVP 0 8 101" in answer.text, answer.text
    held_in_ack = next(m for m in trace if not m.received and m.first_line.startswith("ACK")
                       and "a=sendonly" in m.text)
    bye = next(m for m in trace if m.received and m.first_line.startswith("BYE"))
    # sipp moves the media as soon as it has ACKed the answer, before our <Play> has fetched and decoded its file:
    # the moved phase is counted from our first packet at the new port, which must leave most of that phase.
    first_audio = min(sink.arrivals, default=hold.at)
    moved_from = max(moved_ok.at + SETTLE_S, first_audio)
    late = first_audio - moved_ok.at
    assert hold.at - moved_from >= 1.0, f"our audio reached the new port {late:.2f} s after the move"
    counts = {
        "moved": sink.between(moved_from, hold.at),
        "held": sink.between(hold_ok.at + SETTLE_S, resume.at),
        "resumed": sink.between(resume_ok.at + SETTLE_S, g729.at),
        "after 488": sink.between(refused.at + SETTLE_S, asks.at),
        "after our offer": sink.between(offered.at + SETTLE_S, asks_again.at),
        "after an ACK that holds": sink.between(held_in_ack.at + SETTLE_S, bye.at),
    }
    print(f"RTP packets at the new port: {counts}")
    # Our audio (20 ms packets) reaches the new port while the call is not held, and none while it is.
    assert counts["moved"] >= 0.8 * (hold.at - moved_from) / 0.02, counts
    assert counts["held"] == 0, counts
    assert counts["resumed"] >= 0.8 * (g729.at - resume_ok.at - SETTLE_S) / 0.02, counts
    assert counts["after 488"] >= 0.8 * (asks.at - refused.at - SETTLE_S) / 0.02, counts
    assert counts["after our offer"] >= 0.8 * (asks_again.at - offered.at - SETTLE_S) / 0.02, counts
    # The answer in the ACK is the peer's word as much as an offer is: it holds the call, so nothing is sent.
    assert counts["after an ACK that holds"] == 0 and bye.at - held_in_ack.at > 0.5, counts


@pytest.mark.parametrize("direction", ["sendrecv", "sendonly"])
async def test_a_late_offer_is_answered_in_the_ack(server, application, workdir: Path, direction: str):
    """An INVITE without SDP: our 200 offers, the caller's ACK answers, and that answer says where our audio goes,
    and whether. The caller sends no RTP (its address could only be learnt from the ACK): answering sendrecv it
    gets our audio until the RTP timeout hangs it up; answering sendonly it holds the call from the start, gets
    nothing and is not timed out."""
    number = "+15551234567"
    await add_number(server, number, application.on("/voice", '<Response><Play loop="0">tone.wav</Play></Response>'))
    application.on("/tone.wav", wav_of(1.0))
    _, sink = await asyncio.get_running_loop().create_datagram_endpoint(MediaSink, local_addr=("127.0.0.1", 0))
    with rtp_timeout(server, TIMEOUT_S):
        async with Sipp("uac_late_offer.xml", workdir, target=server.sip, args=["-s", number],
                        fill={"answer_port": str(sink.port), "direction": direction}) as peer:
            if direction == "sendrecv":
                assert await peer.wait() == 0, peer.explain()  # our BYE came
                [call] = await Call.filter(direction="inbound")
                await server.wait_status(call.sid, "completed")
                assert await Notification.filter(call_sid=call.sid, error_code=13252).count() == 1
            else:
                for _ in range(300):
                    if await Call.filter(direction="inbound", status="in-progress").count():
                        break
                    await asyncio.sleep(0.01)
                [call] = await Call.filter(direction="inbound")
                await asyncio.sleep(2 * TIMEOUT_S)
                assert (await Call.get(sid=call.sid)).status == "in-progress"
                hung_up = await server.post(f"/Accounts/{ADMIN_SID}/Calls/{call.sid}.json", {"Status": "completed"})
                assert hung_up.json()["status"] == "completed"
                assert await peer.wait() == 0, peer.explain()
    sink.transport.close()
    print(f"a={direction} in the ACK: {len(sink.arrivals)} RTP packets reached its address")
    if direction == "sendrecv":
        assert len(sink.arrivals) >= 0.5 * TIMEOUT_S / 0.02  # a second's audio, before the timeout's BYE
    else:
        assert sink.arrivals == []


async def until(condition, what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within 5 s: {what}")


async def answered_inbound_owner(server):
    """The owner of the one inbound call, once it has answered (its media is open)."""
    def inbound() -> list:
        return [o for o in server.engine.owners.values() if o.call.direction == "inbound" and o.media is not None]
    await until(inbound, "the call is answered")
    [owner] = inbound()
    return owner


async def test_a_reoffer_with_audio_port_0_removes_the_stream_until_one_brings_it_back(server, application,
                                                                                       workdir: Path):
    """RFC 3264 section 8.2: a stream offered with port 0 is removed, and "MUST be marked with port zero in the
    answer"; no media flows either way. It used to get 488 (and our audio kept going). While it is removed the
    peer sends nothing, and that is no reason for the RTP timeout to hang the call up; an offer with a port brings
    it back on our port as before."""
    rcml = application.on("/rcml", '<Response><Play loop="0">tone.wav</Play></Response>')
    application.on("/tone.wav", wav_of(1.0))
    _, sink = await asyncio.get_running_loop().create_datagram_endpoint(MediaSink, local_addr=("127.0.0.1", 0))
    fill = {"new_port": str(sink.port), "moved_ms": "1000", "removed_ms": str(REFUSED_MS)}
    with rtp_timeout(server, TIMEOUT_S):
        async with Sipp("uas_reinvite_removed.xml", workdir, fill=fill) as peer:
            call = await server.place(f"sip:mobile@{peer.uri_host}", rcml)
            sid = call["sid"]
            await server.wait_status(sid, "in-progress")
            media = server.engine.owners[sid].media
            original_port = media.local_address[1]
            await until(lambda: media.remote_address == ("127.0.0.1", sink.port), "the media moves to the sink")
            talking = asyncio.create_task(sink.talk(media.local_address))
            try:
                await until(lambda: not media.sending, "the stream is removed")
                talking.cancel()  # a removed stream: the peer sends nothing either
                await until(lambda: media.sending, "the stream is back")
                talking = asyncio.create_task(sink.talk(media.local_address))
                await asyncio.sleep(AFTER_REOFFER_S)
                assert (await Call.get(sid=sid)).status == "in-progress"
                hung_up = await server.post(f"/Accounts/{ADMIN_SID}/Calls/{sid}.json", {"Status": "completed"})
                assert hung_up.json()["status"] == "completed"
                assert await peer.wait() == 0, peer.explain()
            finally:
                talking.cancel()
    sink.transport.close()
    assert await Notification.filter(call_sid=sid, error_code=13252).count() == 0

    trace = list(messages(peer.message_file))
    (_, moved_ok), (removal, removed_ok), (back, back_ok) = sent_invites_and_answers(trace)
    assert "m=audio 0 RTP/AVP 0" in removal.text
    assert removed_ok.status == 200 and "m=audio 0 RTP/AVP 0" in removed_ok.text.splitlines(), removed_ok.text
    assert back_ok.status == 200 and f"m=audio {original_port} RTP/AVP 0" in back_ok.text, back_ok.text
    bye = next(m for m in trace if m.received and m.first_line.startswith("BYE"))
    counts = {
        "moved": sink.between(moved_ok.at + SETTLE_S, removal.at),
        "removed": sink.between(removed_ok.at + SETTLE_S, back.at),
        "back": sink.between(back_ok.at + SETTLE_S, bye.at),
    }
    print(f"RTP packets at the peer's port: {counts}")
    assert counts["moved"] >= 0.8 * (removal.at - moved_ok.at - SETTLE_S) / 0.02, counts
    assert counts["removed"] == 0 and back.at - removed_ok.at > TIMEOUT_S, counts
    assert counts["back"] >= 0.8 * (bye.at - back_ok.at - SETTLE_S) / 0.02, counts


async def test_an_offer_at_0_0_0_0_is_a_call_held_from_the_start(server, application, workdir: Path):
    """RFC 2543's hold (c=0.0.0.0) in an initial offer, which RFC 3264 section 8.4 still lets a peer send: the call
    is answered recvonly (it was refused with 488), nothing is sent while held (0.0.0.0 would reach the test's
    socket: Linux delivers it to the local host), the RTP timeout does not run, and a re-INVITE with an address
    resumes it."""
    number = "+15551234567"
    await add_number(server, number, application.on("/voice", '<Response><Play loop="0">tone.wav</Play></Response>'))
    application.on("/tone.wav", wav_of(1.0))
    _, sink = await asyncio.get_running_loop().create_datagram_endpoint(MediaSink, local_addr=("127.0.0.1", 0))
    fill = {"media_port": str(sink.port), "held_ms": str(REFUSED_MS), "resumed_ms": "1000"}
    talking: asyncio.Task | None = None
    with rtp_timeout(server, TIMEOUT_S):
        async with Sipp("uac_held_from_the_start.xml", workdir, target=server.sip, args=["-s", number],
                        fill=fill) as peer:
            owner = await answered_inbound_owner(server)
            media = owner.media
            try:
                await until(lambda: media.sending, "the call is resumed")
                talking = asyncio.create_task(sink.talk(media.local_address))  # a resumed peer talks
                assert await peer.wait() == 0, peer.explain()  # its BYE got 200: the call was up all along
            finally:
                if talking is not None:
                    talking.cancel()
    sink.transport.close()
    sid = owner.call.sid
    await server.wait_status(sid, "completed")
    assert await Notification.filter(call_sid=sid, error_code=13252).count() == 0

    trace = list(messages(peer.message_file))
    (invite, held_ok), (resume, resumed_ok) = sent_invites_and_answers(trace)
    assert "c=IN IP4 0.0.0.0" in invite.text and held_ok.status == 200, held_ok.first_line
    assert "a=recvonly" in held_ok.text and resumed_ok.status == 200 and "a=sendrecv" in resumed_ok.text
    bye = next(m for m in trace if not m.received and m.first_line.startswith("BYE"))
    counts = {"held": sink.between(0, resume.at), "resumed": sink.between(resumed_ok.at + SETTLE_S, bye.at)}
    print(f"RTP packets at the caller's port: {counts}")
    assert counts["held"] == 0 and resume.at - held_ok.at > TIMEOUT_S, counts
    assert counts["resumed"] >= 0.8 * (bye.at - resumed_ok.at - SETTLE_S) / 0.02, counts

"""RtpEndpoint under a re-INVITE: the same SDP address keeps what strict RTP learnt, a new one moves the stream,
and while the peer holds the call nothing is sent but the timeline goes on (sip.media_factory.reoffered)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sip.media import rtp
from sip.media.endpoint import LEARN_PROBATION, RtpEndpoint
from tests.media.peers import PacketSink, free_udp_port, until

Opener = Callable[[], Awaitable[RtpEndpoint]]
HOST = "127.0.0.1"
FRAME = 320  # bytes of PCM16 in 20 ms


async def test_the_same_sdp_address_keeps_the_latch_a_new_one_moves_it(endpoints: Opener) -> None:
    behind_nat, moved = await PacketSink.open(), await PacketSink.open()
    endpoint = await endpoints()
    private = free_udp_port()
    endpoint.configure(HOST, private, 0, 101)  # what the SDP said; the packets come from behind a NAT
    for sequence in range(1, 1 + LEARN_PROBATION):
        behind_nat.send(rtp.pack(0, sequence == 1, sequence, 0, 5, b"\xff" * 160), endpoint.local_address)
    await until(lambda: endpoint.remote_address == (HOST, behind_nat.port))
    # A hold, a refresh or a codec change names the same address: still sent where the packets come from.
    endpoint.configure(HOST, private, 8, 101)
    assert endpoint.remote_address == (HOST, behind_nat.port) and endpoint.payload_type == 8
    await endpoint.play(bytes(FRAME))
    await until(lambda: len(behind_nat.arrivals) == 1)
    assert behind_nat.arrivals[0][1].payload_type == 8
    # A new address (the phone changed network): sent there, and its packets are heard at once.
    endpoint.configure(HOST, moved.port, 8, 101)
    moved.send(rtp.pack(8, True, 1, 0, 7, b"\xd5" * 160), endpoint.local_address)
    await until(lambda: endpoint.stats().packets_received == LEARN_PROBATION + 1)
    await endpoint.play(bytes(FRAME))
    await until(lambda: len(moved.arrivals) == 1)
    assert endpoint.foreign_packets_dropped == 0 and len(behind_nat.arrivals) == 1
    behind_nat.close()
    moved.close()


async def test_nothing_is_sent_while_held_and_the_timeline_goes_on(endpoints: Opener) -> None:
    phone = await PacketSink.open()
    endpoint = await endpoints()
    endpoint.configure(HOST, phone.port, 0)
    await endpoint.play(bytes(2 * FRAME))
    endpoint.sending = False  # the peer holds the call (sendonly): our answer said recvonly
    await endpoint.play(bytes(3 * FRAME))
    assert endpoint.stats().packets_sent == 2
    endpoint.sending = True
    await endpoint.play(bytes(FRAME))
    await until(lambda: len(phone.arrivals) == 3)
    before, after = phone.arrivals[1][1], phone.arrivals[2][1]
    # Same SSRC; the timestamp moved on past the held audio (3 frames), as if it had been sent.
    assert after.ssrc == before.ssrc and after.sequence == (before.sequence + 1) & 0xFFFF
    assert ((after.timestamp - before.timestamp) & 0xFFFFFFFF) >= 4 * 160
    phone.close()

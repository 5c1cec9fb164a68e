"""A hostile network against live calls' media (issue 12): RTP from a stranger, SDP that names a victim."""

from __future__ import annotations

import asyncio
import io
import wave

from models import Call
from sip.media import rtp
from tests.conftest import ADMIN_SID
from tests.media.audio import interleave, tone
from tests.support.sipp import Sipp


def wav_of(seconds: float, hz: float = 1000.0) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(interleave([tone(hz, 8000, seconds)], 2))
    return buffer.getvalue()


class Listener(asyncio.DatagramProtocol):
    """A UDP socket that counts what reaches it: the attacker's own port, or a third party's."""

    def __init__(self) -> None:
        self.datagrams = 0
        self.bytes = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.datagrams += 1
        self.bytes += len(data)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]


async def listener() -> Listener:
    _, protocol = await asyncio.get_running_loop().create_datagram_endpoint(Listener, local_addr=("127.0.0.1", 0))
    return protocol


async def test_one_packet_from_a_stranger_does_not_steal_the_calls_audio(server, application, workdir):
    """RTP bleed: a packet from another address mid-call must not redirect the call's audio (strictrtp)."""
    url = application.on("/rcml", "<Response><Play>tone.wav</Play></Response>")
    application.on("/tone.wav", wav_of(3.0))
    attacker = await listener()
    echoed: list[bytes] = []
    async with Sipp("uas_answer.xml", workdir, args=["-rtp_echo"]) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url)
        await server.wait_status(call["sid"], "in-progress")
        owner = server.engine.owners[call["sid"]]
        owner.media.listen(lambda frame: echoed.append(frame.payload))
        await asyncio.sleep(1.0)  # the stream is established: the phone's echo has come back for a while
        stranger = rtp.pack(0, True, 7, 0, 0xBAD, b"\xff" * 160)
        for _ in range(5):
            attacker.transport.sendto(stranger, owner.media.local_address)
            await asyncio.sleep(0.02)
        await server.wait_status(call["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    attacker.transport.close()
    print(f"echoed from the phone {len(echoed)} packets; the stranger got {attacker.datagrams}")
    assert attacker.datagrams == 0
    assert len(echoed) >= 130  # about 150 sent in 3 s, minus the first second's before the listener


async def test_no_media_to_an_sdp_address_before_the_ack_and_timer_h_ends_the_call(server, application, workdir):
    """Amplification: an INVITE whose SDP names a third party and never ACKs gets no RTP sent there, and the
    call ends at Timer H (64*T1 = 32 s) with a final status and one callback."""
    victim = await listener()
    number = "+15551234567"
    response = await server.post(f"/Accounts/{ADMIN_SID}/IncomingPhoneNumbers.json", {
        "PhoneNumber": number, "StatusCallback": application.on("/status", ""),
        "VoiceUrl": application.on("/voice", "<Response><Play loop=\"0\">tone.wav</Play></Response>")})
    assert response.status_code == 201, response.text
    application.on("/tone.wav", wav_of(1.0))
    async with Sipp("uac_no_ack.xml", workdir, target=server.sip, args=["-s", number],
                    fill={"victim_port": str(victim.port)}, lifetime_s=50) as peer:
        await asyncio.sleep(3)
        [call] = await Call.all()
        assert victim.datagrams == 0, f"{victim.bytes} bytes of RTP went to an address that never said yes"
        final = await server.wait_status(call.sid, "completed", "failed", within=45)
        await peer.stop()
    victim.transport.close()
    assert victim.datagrams == 0
    await server.idle()
    finals = [r for r in application.requests_to("/status") if r.params["CallStatus"] in ("completed", "failed")]
    assert len(finals) == 1 and final.status in ("completed", "failed")

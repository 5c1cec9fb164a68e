"""An offer of more streams than audio, against a real peer (sipp, tests/scenarios/uac_video_then_audio.xml): a
softphone with a camera offers video first, then audio, in its INVITE and again in a re-INVITE.

What must hold (RFC 3264 section 6): each answer has exactly one m= line per m= line of the offer, in its order;
the video stream, which we do not speak, is refused with port 0 and one of its own formats; the audio is answered
on our real port, and our audio (a <Play> of a tone) reaches the caller's audio port, never its video port. A
single m=audio answer to a two-stream offer is malformed: phones drop the call or mismatch the streams."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import cast

import pytest

from sip.media import rtp
from testkit.sipp import messages
from tests.calls.test_hostile_media import add_number, wav_of
from tests.calls.test_reinvite import answered_inbound_owner, sent_invites_and_answers
from tests.support.sipp import Sipp

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

TALK_MS = 1500
AFTER_MS = 1000
SETTLE_S = 0.15  # the loop's delay between a 200 going out and the RTP it describes


class Port(asyncio.DatagramProtocol):
    """One of the caller's media ports: records when each RTP packet reached it, and its payload."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.packets: list[tuple[float, bytes]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if (packet := rtp.parse(data)) is not None:
            self.packets.append((time.time(), packet.payload))  # wall clock: sipp's trace is stamped with it

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]


def media_lines(text: str) -> list[list[str]]:
    return [line[2:].split() for line in text.splitlines() if line.startswith("m=")]


async def test_video_then_audio_is_answered_stream_for_stream_and_the_audio_plays(server, application,
                                                                                   workdir: Path):
    number = "+15551234568"
    await add_number(server, number, application.on("/voice", '<Response><Play loop="0">tone.wav</Play></Response>'))
    application.on("/tone.wav", wav_of(1.0))
    loop = asyncio.get_running_loop()
    _, audio = await loop.create_datagram_endpoint(Port, local_addr=("127.0.0.1", 0))
    _, video = await loop.create_datagram_endpoint(Port, local_addr=("127.0.0.1", 0))
    fill = {"media_port": str(audio.port), "video_port": str(video.port), "talk_ms": str(TALK_MS),
            "after_ms": str(AFTER_MS)}
    try:
        async with Sipp("uac_video_then_audio.xml", workdir, target=server.sip, args=["-s", number],
                        fill=fill) as peer:
            owner = await answered_inbound_owner(server)
            local_port = owner.media.local_address[1]
            assert await peer.wait() == 0, peer.explain()  # both 200s matched, and its BYE got 200
    finally:
        audio.transport.close()
        video.transport.close()
    await server.wait_status(owner.call.sid, "completed")

    trace = list(messages(peer.message_file))
    for invite, ok in sent_invites_and_answers(trace):
        assert ok.status == 200, ok.first_line
        assert [m[0] for m in media_lines(invite.text)] == ["video", "audio"]
        # One m= line per offered one, in the offer's order: the video refused, the audio on our port.
        [video_line, audio_line] = media_lines(ok.text)
        assert video_line == ["video", "0", "RTP/AVP", "96"], ok.text
        assert audio_line[:3] == ["audio", str(local_port), "RTP/AVP"] and audio_line[3] == "0", ok.text
        # Our session-level connection line covers both; no media-level one names another address.
        assert re.findall(r"^c=.*$", ok.text, re.MULTILINE) == ["c=IN IP4 127.0.0.1"], ok.text
    # The tone, not silence, reached the audio port after each answer, and nothing the video port.
    (_, answered), (reinvite, reanswered) = sent_invites_and_answers(trace)
    bye = next(m for m in trace if not m.received and m.first_line.startswith("BYE"))
    tone = [at for at, payload in audio.packets if len(set(payload)) > 2]  # PCMU silence is one or two bytes
    counts = {"answered": sum(answered.at + SETTLE_S <= at < reinvite.at for at in tone),
              "reanswered": sum(reanswered.at + SETTLE_S <= at < bye.at for at in tone)}
    print(f"tone packets at the audio port: {counts}; {len(video.packets)} RTP packets at the video port")
    assert counts["answered"] >= 10, counts  # its start waits for the document and the tone to be fetched
    assert counts["reanswered"] >= 0.5 * (bye.at - reanswered.at - SETTLE_S) / 0.02, counts
    assert video.packets == []

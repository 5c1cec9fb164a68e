"""RtpEndpoint against sipp: its RTP echo proves byte for byte what went out; its pcap replay sends the RFC 4733
key presses real phones send.

sipp's -rtp_echo echoes whatever reaches its media port (-mp), call or no call, so the echo tests need no SIP
dialog. The pcap replay does: sipp sends to the media address in the answer's SDP, so a few-line SIP responder
answers sipp's INVITE with the endpoint's address.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from itertools import pairwise
from pathlib import Path

import pytest

from sip.media import g711
from sip.media.decoder import read_audio
from sip.media.endpoint import AudioFrame, RtpEndpoint
from tests.media.audio import tone, write_wav
from tests.media.peers import SCENARIOS, SipResponder, until
from tests.support.sipp import Sipp

Opener = Callable[[], Awaitable[RtpEndpoint]]
HOST = "127.0.0.1"


def prompt(path: Path) -> Path:
    """1.51 s at 16 kHz stereo: noise (every G.711 code gets used), then a tone; not a whole number of frames."""
    noise = random.Random(7)
    left = [noise.uniform(-0.95, 0.95) for _ in range(8000)] + tone(440, 16000, 1.01, 0.4)
    right = [noise.uniform(-0.95, 0.95) for _ in range(8000)] + tone(660, 16000, 1.01, 0.4)
    return write_wav(path, [left, right], 16000, 2)


@pytest.mark.parametrize(("payload_type", "codec"), [(0, "PCMU"), (8, "PCMA")])
async def test_sipp_echoes_exactly_the_encoded_wav(tmp_path: Path, endpoints: Opener, payload_type: int,
                                                   codec: g711.Codec) -> None:
    pcm = read_audio(prompt(tmp_path / "prompt.wav"))
    encoded = g711.encode(pcm, codec)
    expected = [encoded[i:i + 160] for i in range(0, len(encoded), 160)]
    expected[-1] += bytes([g711.SILENCE[codec]]) * (160 - len(expected[-1]))  # the padded last frame
    assert len(expected) == 76

    async with Sipp("uas", tmp_path, args=["-rtp_echo"]) as sipp:
        endpoint = await endpoints()
        endpoint.configure(HOST, sipp.media_port, payload_type)
        echoed: list[AudioFrame] = []
        endpoint.listen(echoed.append)
        await endpoint.play(pcm)
        await until(lambda: len(echoed) == len(expected))
        await asyncio.sleep(0.1)  # nothing more comes back

    assert [frame.payload for frame in echoed] == expected
    assert [frame.payload_type for frame in echoed] == [payload_type] * len(expected)
    assert [frame.marker for frame in echoed] == [True] + [False] * (len(expected) - 1)
    assert all((b.sequence - a.sequence) % 65536 == 1 for a, b in pairwise(echoed))
    assert all((b.timestamp - a.timestamp) % 2**32 == 160 for a, b in pairwise(echoed))
    stats = endpoint.stats()
    assert (stats.packets_sent, stats.packets_received, stats.packets_lost) == (76, 76, 0)
    assert stats.bytes_sent == stats.bytes_received == 76 * 160


async def test_digits_sent_to_sipp_come_back_once_each(tmp_path: Path, endpoints: Opener) -> None:
    async with Sipp("uas", tmp_path, args=["-rtp_echo"]) as sipp:
        endpoint = await endpoints()
        endpoint.configure(HOST, sipp.media_port, 0, telephone_event_pt=101)
        digits: list[str] = []
        endpoint.on_dtmf(digits.append)
        for digit in "19#*A":
            await endpoint.send_dtmf(digit, duration_ms=100)
        await until(lambda: endpoint.stats().packets_received == 5 * 5)  # at 0 and 50 ms, then 3 ends
    assert digits == list("19#*A")


async def test_rfc4733_digits_from_sipp_captures_arrive_once_each_in_order(tmp_path: Path,
                                                                           endpoints: Opener) -> None:
    endpoint = await endpoints()
    digits: list[str] = []
    endpoint.on_dtmf(digits.append)
    loop = asyncio.get_running_loop()
    transport, responder = await loop.create_datagram_endpoint(lambda: SipResponder(endpoint.local_address),
                                                               local_addr=(HOST, 0))
    try:
        endpoint.configure(HOST, 9, 0, telephone_event_pt=101)  # sipp's address is learnt from its packets
        async with Sipp("uac_rfc4733.xml", tmp_path, target=(HOST, responder.port), scenarios=SCENARIOS) as sipp:
            code = await sipp.wait(15)
            assert code == 0, sipp.explain()
        await asyncio.wait_for(responder.ended.wait(), 1)
    finally:
        transport.close()
    # Each capture holds 10 packets of one press: start, 6 updates, 3 ends (the same sequence number).
    assert digits == ["1", "9", "#", "*", "0"]
    assert endpoint.stats().packets_received == 50

"""Tones for the bridge and mixer tests: a raw UDP phone that sends a paced RTP stream and keeps what it gets back,
and the level of one frequency in received audio (Goertzel, pure Python)."""

from __future__ import annotations

import asyncio
import math
import secrets
from array import array
from collections.abc import Callable, Sequence

from sip.media import g711, rtp
from sip.media.clock import MediaClock
from sip.media.endpoint import RtpEndpoint
from tests.media.peers import PacketSink

FRAME_S = 0.020
SAMPLES = 160


def tone_pcm(frequency: float, seconds: float, amplitude: float = 0.3) -> bytes:
    """8 kHz PCM16 of a sine (amplitude as a fraction of full scale)."""
    step = 2 * math.pi * frequency / 8000
    scale = amplitude * 32767
    return array("h", (round(scale * math.sin(step * i)) for i in range(round(8000 * seconds)))).tobytes()


def level_dbfs(pcm: bytes, frequency: float) -> float:
    """The amplitude of the `frequency` component of `pcm` (Goertzel over all of it), in dB below full scale: a
    full-scale sine at exactly that frequency reads 0 dBFS, one at amplitude 0.3 reads -10.5 dBFS."""
    samples = array("h", pcm)
    count = len(samples)
    if count == 0:  # nothing received: no level at all, an assertion's failure rather than a ZeroDivisionError
        return float("-inf")
    coefficient = 2 * math.cos(2 * math.pi * frequency / 8000)
    previous = before = 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    power = previous * previous + before * before - coefficient * previous * before
    amplitude = 2 * math.sqrt(max(power, 0.0)) / count
    return 20 * math.log10(max(amplitude, 1e-9) / 32767)


class Phone(PacketSink):
    """A bare UDP peer that plays a call's far end: sends RTP (its own SSRC, sequence numbers, timestamps) on
    absolute 20 ms deadlines, and records every packet it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.ssrc = secrets.randbits(32)
        self.sequence = secrets.randbits(16)
        self.timestamp = secrets.randbits(32)
        self.frames_sent = 0

    async def send_audio(self, to: tuple[str, int], pcm: bytes, payload_type: int = 0) -> None:
        """Sends `pcm` as 20 ms packets of PCMU (0) or PCMA (8) to `to`, on absolute deadlines of the loop's
        MediaClock: in real time, or on a test's stepped clock (tests/media/stepped_clock.py) at exactly its
        deadlines, as the endpoints it talks to send theirs."""
        payload = g711.encode(pcm, g711.PAYLOAD_TYPES[payload_type])
        frames = [payload[offset:offset + SAMPLES] for offset in range(0, len(payload), SAMPLES)]
        if not frames:
            return
        clock = MediaClock.current()
        done = asyncio.get_running_loop().create_future()
        start = clock.time()

        def send(index: int) -> None:
            if done.done():  # the await was cancelled: no further packet leaves
                return
            self.send_packet(to, payload_type, frames[index], marker=index == 0)
            if index + 1 < len(frames):
                clock.call_at(start + (index + 1) * FRAME_S, lambda: send(index + 1))
            else:
                done.set_result(None)

        clock.call_at(start, lambda: send(0))
        try:
            await done
        finally:
            done.cancel()

    def send_packet(self, to: tuple[str, int], payload_type: int, payload: bytes, *, marker: bool = False,
                    samples: int = SAMPLES) -> None:
        self.send(rtp.pack(payload_type, marker, self.sequence, self.timestamp, self.ssrc, payload), to)
        self.sequence = (self.sequence + 1) & 0xFFFF
        self.timestamp = (self.timestamp + samples) & 0xFFFFFFFF
        self.frames_sent += 1

    def audio(self, since: float = 0.0) -> bytes:
        """The PCM16 of the G.711 packets received at or after loop time `since`, in arrival order."""
        return b"".join(g711.decode(packet.payload, g711.PAYLOAD_TYPES[packet.payload_type])
                        for arrived, packet in self.arrivals
                        if arrived >= since and packet.payload_type in g711.PAYLOAD_TYPES)


def delivered(phones: Sequence[Phone], endpoints: Sequence[RtpEndpoint]) -> Callable[[], bool]:
    """Whether every packet the phones and endpoints sent has been read by whichever of them it went to: the
    `settled` of a stepped clock's run(), so its time moves on only when nothing is still on its way."""

    def settled() -> bool:
        sent = sum(phone.frames_sent for phone in phones)
        read = sum(len(phone.arrivals) for phone in phones)
        for endpoint in endpoints:
            stats = endpoint.stats()
            sent += stats.packets_sent
            read += stats.packets_received + endpoint.foreign_packets_dropped
        return read >= sent

    return settled

"""Mixer: a conference room's audio. Every 20 ms each participant is sent the sum of all the others.

    mixer = Mixer()
    alice = mixer.add(endpoint_a)                  # a MixerChannel; its endpoint's audio now feeds the room
    mixer.add(endpoint_b, muted=True)              # hears the room, is not heard
    alice.muted = True
    mixer.play(beep)                               # mixed into what everyone hears; returns a Playback
    await mixer.play_to(endpoint_b, hold_music)    # to one participant; cancelling the await stops it
    mixer.remove(endpoint_a)                       # idempotent; its endpoint is free for play() again
    mixer.stats()                                  # MixerStats: time per tick (p50, p99), frames sent, missed

Each tick (on the shared MediaClock, while there are participants) takes one frame from every participant's
JitterQueue, adds the frames of those not muted into one total (as lanes of a big integer, see summing.py),
and sends each participant the total minus its own frame: O(N) additions, not N sums of N - 1 frames.
Participants who add nothing (muted, or silent this tick) and hear no prompt of their own all hear the
same total, so it is encoded once per codec for all of them. Each participant's frames go out through
RtpEndpoint.forward on its own RTP timeline (its SSRC and sequence numbers, timestamps counting ticks), so a
play() before joining or after leaving continues that timeline.

Prompts are mixed in like one more participant that nobody subtracts (play) or that only one participant
hears (play_to); a Playback is awaitable and ends the tick after its last frame. A room that empties ends
its Playbacks; play() on an empty room ends at once (nobody would hear it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from sip.media import g711
from sip.media.endpoint import FRAME_BYTES, FRAME_SAMPLES, RtpEndpoint
from sip.media.histogram import DurationHistogram
from sip.media.jitter import JitterQueue
from sip.media.prompt import Prompt
from sip.media.summing import MAX_SOURCES, to_lanes, to_pcm
from sip.media.ticker import Ticker

_SILENCE = {codec: bytes([code]) * FRAME_SAMPLES for codec, code in g711.SILENCE.items()}


@dataclass(frozen=True)
class MixerStats:
    participants: int
    ticks: int
    # One tick's work (taking, summing, encoding and sending every participant's frame) from start to end: the
    # delay it adds to the last participant's frame, preemption by other processes included ...
    mix_p50_ms: float
    mix_p99_ms: float
    mix_max_ms: float
    # ... and the CPU time it took (this thread's), which other load on the machine hardly changes.
    cpu_p50_ms: float
    cpu_p99_ms: float
    frames_sent: int
    frames_missed: int  # ticks at which a participant that was sending had no frame (it played as silence)
    frames_late: int  # frames dropped because their tick had passed
    frames_overflow: int  # frames dropped because two were already held


class Playback:
    """A prompt being mixed in. Await it to wait for its end (cancelling the await stops it); stop() ends it
    at once. It starts playing when created, whether awaited or not."""

    def __init__(self, audio: Prompt | bytes | bytearray | memoryview) -> None:
        self._pcm = audio.pcm if isinstance(audio, Prompt) else bytes(audio)
        self._offset = 0
        self._done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def done(self) -> bool:
        return self._done.done()

    def stop(self) -> None:
        if not self._done.done():
            self._done.set_result(None)

    def __await__(self) -> Generator[Any, None, None]:
        try:
            yield from asyncio.shield(self._done).__await__()
        except asyncio.CancelledError:
            self.stop()
            raise

    def _next_lanes(self) -> int | None:
        """The next frame, as lanes; None once it has ended (which ends it)."""
        if self._done.done():
            return None
        frame = self._pcm[self._offset:self._offset + FRAME_BYTES]
        if not frame:
            self.stop()
            return None
        self._offset += FRAME_BYTES
        return to_lanes(frame.ljust(FRAME_BYTES, b"\x00"))


class MixerChannel:
    """One endpoint in the room. `muted`: the others do not hear it (it still hears them)."""

    def __init__(self, endpoint: RtpEndpoint, muted: bool) -> None:
        self.endpoint = endpoint
        self.muted = muted
        self.queue = JitterQueue()
        self.frames_sent = 0
        self._prompts: list[Playback] = []  # play_to(), mixed into what only this participant hears

    def _end_prompts(self) -> None:
        for playback in self._prompts:
            playback.stop()
        self._prompts.clear()


class Mixer:
    def __init__(self) -> None:
        self._participants: dict[RtpEndpoint, MixerChannel] = {}
        self._prompts: list[Playback] = []  # play(), heard by everyone
        self._ticker = Ticker(self._tick)
        self._histogram = DurationHistogram()
        self._cpu = DurationHistogram()
        self._ticks = 0
        self._gone_sent = self._gone_missed = self._gone_late = self._gone_overflow = 0  # of removed participants

    @property
    def participants(self) -> list[MixerChannel]:
        return list(self._participants.values())

    def add(self, endpoint: RtpEndpoint, *, muted: bool = False) -> MixerChannel:
        """Joins `endpoint` to the room; it hears the others from the next tick. Its endpoint should not be
        playing (a play() has the line, and the room's frames for it are dropped until it ends)."""
        if endpoint in self._participants:
            raise ValueError("this endpoint is already in the conference")
        if len(self._participants) >= MAX_SOURCES:
            raise ValueError(f"a conference holds at most {MAX_SOURCES} participants")
        participant = MixerChannel(endpoint, muted)
        self._participants[endpoint] = participant
        endpoint.listen(participant.queue.put)
        self._ticker.start()
        return participant

    def remove(self, endpoint: RtpEndpoint) -> None:
        """Takes `endpoint` out of the room (idempotent); its play_to() prompts end."""
        participant = self._participants.pop(endpoint, None)
        if participant is None:
            return
        endpoint.unlisten(participant.queue.put)
        participant._end_prompts()
        queue = participant.queue
        self._gone_sent += participant.frames_sent
        self._gone_missed += queue.missed
        self._gone_late += queue.late
        self._gone_overflow += queue.overflow
        if not self._participants:
            self._ticker.stop()
            for playback in self._prompts:
                playback.stop()
            self._prompts.clear()

    def play(self, audio: Prompt | bytes) -> Playback:
        """Mixes `audio` (8 kHz PCM16, or a Prompt) into what every participant hears, from the next tick."""
        playback = Playback(audio)
        if self._participants:
            self._prompts.append(playback)
        else:
            playback.stop()
        return playback

    def play_to(self, endpoint: RtpEndpoint, audio: Prompt | bytes) -> Playback:
        """Mixes `audio` into what one participant hears (a greeting, hold music while the room waits)."""
        participant = self._participants.get(endpoint)
        if participant is None:
            raise ValueError("this endpoint is not in the conference")
        playback = Playback(audio)
        participant._prompts.append(playback)
        return playback

    def close(self) -> None:
        """Removes every participant; idempotent."""
        for endpoint in list(self._participants):
            self.remove(endpoint)

    def stats(self) -> MixerStats:
        queues = [p.queue for p in self._participants.values()]
        return MixerStats(
            participants=len(queues), ticks=self._ticks,
            mix_p50_ms=self._histogram.quantile(0.5), mix_p99_ms=self._histogram.quantile(0.99),
            mix_max_ms=self._histogram.max_ms, cpu_p50_ms=self._cpu.quantile(0.5), cpu_p99_ms=self._cpu.quantile(0.99),
            frames_sent=self._gone_sent + sum(p.frames_sent for p in self._participants.values()),
            frames_missed=self._gone_missed + sum(q.missed for q in queues),
            frames_late=self._gone_late + sum(q.late for q in queues),
            frames_overflow=self._gone_overflow + sum(q.overflow for q in queues))

    # --- the tick ------------------------------------------------------------------------------------------

    def _tick(self, tick: int) -> None:
        started, cpu = time.perf_counter(), time.thread_time()
        for endpoint in [e for e in self._participants if e.closed]:  # hung up without being removed
            self.remove(endpoint)
        if not self._participants:
            return
        now = self._ticker.time()  # the clock the frames' arrival times are on (RtpEndpoint's MediaClock)
        # Everyone's frame for this tick, and the sum of those who are heard.
        total, sources = 0, 0
        heard: list[tuple[MixerChannel, int | None]] = []
        for participant in self._participants.values():
            pcm = participant.queue.take(now)
            lanes = None
            if pcm is not None and not participant.muted:
                lanes = to_lanes(pcm)
                total += lanes
                sources += 1
            heard.append((participant, lanes))
        if self._prompts:
            for playback in self._prompts:
                lanes = playback._next_lanes()
                if lanes is not None:
                    total += lanes
                    sources += 1
            self._prompts = [p for p in self._prompts if not p.done]
        # Each one hears the total without itself, plus its own prompts.
        shared: dict[g711.Codec, bytes] = {}  # the plain total, encoded once per codec
        timestamp = (tick * FRAME_SAMPLES) & 0xFFFFFFFF
        for participant, own in heard:
            mix, count = total, sources
            if own is not None:
                mix -= own
                count -= 1
            if participant._prompts:
                for playback in participant._prompts:
                    lanes = playback._next_lanes()
                    if lanes is not None:
                        mix += lanes
                        count += 1
                participant._prompts = [p for p in participant._prompts if not p.done]
                private = True
            else:
                private = False
            codec = participant.endpoint.codec
            if not count:
                payload = _SILENCE[codec]
            elif own is None and not private:
                payload = shared.get(codec) or shared.setdefault(codec, g711.encode(to_pcm(mix, count), codec))
            else:
                payload = g711.encode(to_pcm(mix, count), codec)
            if participant.endpoint.forward(payload, origin=self, timestamp=timestamp):
                participant.frames_sent += 1
        self._ticks += 1
        self._histogram.add(time.perf_counter() - started)
        self._cpu.add(time.thread_time() - cpu)

"""Bridge: two call legs' RTP relayed to each other (a call connected to another by <Dial>).

    bridge = Bridge(caller, callee, on_dtmf=lambda side, digit: ...)   # side "a" (caller) or "b"
    bridge.record(recorder)        # optional, before or after start: the mix of both directions, until stop
    bridge.start()
    bridge.mute("a", True)         # the callee hears silence instead of the caller
    bridge.stats()                 # BridgeStats: per direction packets relayed, lost, added delay p50/p99
    bridge.stop()                  # idempotent; both endpoints are free for play() again

A packet is relayed from inside the receiving endpoint's datagram callback, straight to the other leg's socket:
no queue, no timer, so the delay it adds is the callback's own (tens of microseconds). The payload goes
as it came when both legs use the same codec, and through PCM16 (already decoded on arrival) into the other
codec when they differ. RtpEndpoint.forward puts it on the sending leg's own timeline (its SSRC, its next
sequence number, the source's timestamps moved by a fixed offset), so the far end sees one valid stream
across a play() before the bridge, the bridge itself and a play() after it.

RFC 4733 packets are forwarded the same way (every packet of a key press, so its duration carries over),
with the other leg's telephone-event payload type; a leg that did not negotiate telephone-event does not get
them. on_dtmf reports each key press once, from either side, muted or not (hangupOnStar must still work).

Mute sends silence in place of the muted side's audio, packet for packet, rather than nothing: the other
leg's stream keeps its timing and its NAT binding alive, and endpoints that hang up after some seconds
without RTP (media timeouts are common in PBXs and SBCs) keep the call. A muted side's key presses are not
forwarded either (they would be heard), only reported.

While a leg is playing something (a play() or send_dtmf() started on its endpoint), that play has the line:
what the bridge would send to that leg is dropped, and counted. Stop plays before starting a bridge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sip.media import g711, rtp
from sip.media.clock import MediaClock
from sip.media.endpoint import FRAME_BYTES, AudioFrame, RtpEndpoint
from sip.media.histogram import DurationHistogram
from sip.media.jitter import JitterQueue
from sip.media.recorder import WavRecorder
from sip.media.summing import to_lanes, to_pcm
from sip.media.ticker import Ticker

log = logging.getLogger(__name__)

Side = Literal["a", "b"]
DtmfCallback = Callable[[Side, str], None]


@dataclass(frozen=True)
class DirectionStats:
    relayed: int  # audio packets sent on, silence while muted included
    transcoded: int  # of those, re-encoded into the other leg's codec
    muted: int  # of those, silence sent in place of audio
    events: int  # RFC 4733 packets forwarded
    dropped: int  # not sent: the other leg was playing, closed, or has no telephone-event type
    lost: int  # missing from what arrived while bridged (sequence gaps)
    delay_p50_ms: float  # from a packet's arrival to its copy leaving the other socket
    delay_p99_ms: float
    delay_max_ms: float


@dataclass(frozen=True)
class BridgeStats:
    a_to_b: DirectionStats
    b_to_a: DirectionStats


class _Direction:
    """One way across the bridge: from `source`'s received packets to `sink`'s socket."""

    def __init__(self, source: RtpEndpoint, sink: RtpEndpoint) -> None:
        self.source, self.sink = source, sink
        self.muted = False
        self.recording: JitterQueue | None = None
        self._silence: dict[tuple[g711.Codec, int], bytes] = {}
        # What the source lost while bridged: its endpoint counts every packet's sequence number already.
        self._lost_before = source.stats().packets_lost
        self._delay = DurationHistogram()
        # The clock the frames' arrival times are on (the endpoints take the loop's MediaClock when opened).
        self._now = MediaClock.current().time
        self._relayed = self._transcoded = self._muted = self._events = self._dropped = 0

    def audio(self, frame: AudioFrame) -> None:
        sink = self.sink
        if self.muted:
            key = (sink.codec, len(frame.payload))
            payload = self._silence.get(key) or self._silence.setdefault(key, bytes([g711.SILENCE[key[0]]]) * key[1])
            self._muted += 1
        elif frame.payload_type == sink.payload_type:
            payload = frame.payload
        else:
            payload = g711.encode(frame.pcm, sink.codec)
            self._transcoded += 1
        if sink.forward(payload, origin=frame.ssrc, timestamp=frame.timestamp, marker=frame.marker):
            self._relayed += 1
            self._delay.add(self._now() - frame.arrival)
        else:
            self._dropped += 1
        if self.recording is not None and not self.muted:  # the recording holds what the other side heard
            self.recording.put(frame)

    def event(self, packet: rtp.RtpPacket) -> None:
        if self.muted:
            return
        if self.sink.forward(packet.payload, origin=packet.ssrc, timestamp=packet.timestamp, marker=packet.marker,
                             event=True):
            self._events += 1
        else:
            self._dropped += 1

    def stats(self) -> DirectionStats:
        delay = self._delay
        lost = self.source.stats().packets_lost - self._lost_before
        return DirectionStats(self._relayed, self._transcoded, self._muted, self._events, self._dropped, lost,
                              delay.quantile(0.5), delay.quantile(0.99), delay.max_ms)


class Bridge:
    def __init__(self, a: RtpEndpoint, b: RtpEndpoint, *, on_dtmf: DtmfCallback | None = None) -> None:
        if a is b:
            raise ValueError("a bridge needs two different endpoints")
        self.a, self.b = a, b
        self._on_dtmf = on_dtmf
        self._a_to_b = _Direction(a, b)
        self._b_to_a = _Direction(b, a)
        self._recorder: WavRecorder | None = None
        self._ticker = Ticker(self._record_tick)
        self._recorded_to: int | None = None  # the tick after the last one recorded
        self._running = False
        self._stopped = False

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Starts relaying (idempotent); a stopped bridge does not start again: make a new one."""
        if self._running or self._stopped:
            return
        self._running = True
        self.a.listen(self._a_to_b.audio)
        self.b.listen(self._b_to_a.audio)
        self.a.on_telephone_event(self._a_to_b.event)
        self.b.on_telephone_event(self._b_to_a.event)
        self.a.on_dtmf(self._digit_from_a)
        self.b.on_dtmf(self._digit_from_b)
        if self._recorder is not None:
            self._ticker.start()

    def stop(self) -> None:
        """Stops relaying and recording (the recorder is left open: its owner closes it); idempotent."""
        self._stopped = True
        if not self._running:
            return
        self._running = False
        self._ticker.stop()
        self.a.unlisten(self._a_to_b.audio)
        self.b.unlisten(self._b_to_a.audio)
        self.a.off_telephone_event(self._a_to_b.event)
        self.b.off_telephone_event(self._b_to_a.event)
        self.a.off_dtmf(self._digit_from_a)
        self.b.off_dtmf(self._digit_from_b)
        self._recorder = None
        self._a_to_b.recording = self._b_to_a.recording = None

    def mute(self, side: Side, muted: bool) -> None:
        """Whether the other side stops hearing `side` (it gets silence instead; see the module docstring)."""
        self._direction_from(side).muted = muted

    def muted(self, side: Side) -> bool:
        return self._direction_from(side).muted

    def record(self, recorder: WavRecorder) -> None:
        """Writes the mix of both directions (what each side heard of the other), a frame every 20 ms, to
        `recorder` until stop(). Both sides' frames wait in a JitterQueue and are added at the same tick, so
        they line up within a frame or two."""
        if self._stopped and not self._running:
            raise RuntimeError("the bridge has been stopped")
        self._recorder = recorder
        self._a_to_b.recording, self._b_to_a.recording = JitterQueue(), JitterQueue()
        if self._running:
            self._ticker.start()

    def stats(self) -> BridgeStats:
        return BridgeStats(self._a_to_b.stats(), self._b_to_a.stats())

    def _direction_from(self, side: Side) -> _Direction:
        if side == "a":
            return self._a_to_b
        if side == "b":
            return self._b_to_a
        raise ValueError(f"a bridge's sides are 'a' and 'b', not {side!r}")

    def _digit_from_a(self, digit: str) -> None:
        if self._on_dtmf is not None:
            self._on_dtmf("a", digit)

    def _digit_from_b(self, digit: str) -> None:
        if self._on_dtmf is not None:
            self._on_dtmf("b", digit)

    def _record_tick(self, tick: int) -> None:
        recorder = self._recorder
        queues = (self._a_to_b.recording, self._b_to_a.recording)
        if recorder is None or queues[0] is None or queues[1] is None:
            return
        if self._recorded_to is not None and tick > self._recorded_to:  # the loop stalled: keep the time
            recorder.write(bytes(FRAME_BYTES * (tick - self._recorded_to)))
        self._recorded_to = tick + 1
        now = self._ticker.time()  # the clock the frames' arrival times are on
        frames = [pcm for pcm in (queue.take(now) for queue in queues) if pcm is not None]
        if not frames:
            pcm = bytes(FRAME_BYTES)
        elif len(frames) == 1:
            pcm = frames[0]
        else:
            pcm = to_pcm(to_lanes(frames[0]) + to_lanes(frames[1]), 2)
        try:
            recorder.write(pcm)
        except ValueError:  # its owner closed it: stop writing, keep relaying
            log.warning("bridge recording %s was closed before the bridge stopped", recorder.path)
            self._recorder = None
            self._ticker.stop()

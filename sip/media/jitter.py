"""JitterQueue: one source's frames, held until a consumer ticking every 20 ms (a mixer) takes one per tick.

The source's packets and the consumer's ticks run on different clocks with different phases, so a frame
waits up to a tick; the queue keeps that wait short and bounded:

* Margin: after a (re)start the first frame is played once it has waited half a frame. A frame that just
  arrived is held to the next tick, so every frame after it may come up to 10-30 ms late and still make
  its tick; without the margin a source whose packets arrive right at the tick's phase would miss every
  other tick.
* Depth: at most two frames are held; when a third arrives the oldest is dropped (the source's clock runs
  fast, or a burst came in), so the wait never grows past two frames.
* Late frames: a tick that finds nothing plays silence for the source (a miss), and its slot is gone: a
  frame that then arrives for that slot (by its RTP timestamp) is dropped instead of played one tick late,
  which would delay everything after it for good. After a miss the queue waits for the margin again, so a
  source whose clock runs slow loses one frame and settles, instead of losing every frame from then on.
  Silence suppression (no packets at all for a while) counts as one miss, then as waiting.

Frames are assumed to be 20 ms (160 samples, as our SDP's ptime asks); take() pads or cuts to that.
"""

from __future__ import annotations

from collections import deque

from sip.media.endpoint import FRAME_BYTES, FRAME_S, FRAME_SAMPLES, AudioFrame

_MARGIN_S = FRAME_S / 2
_LATE_WINDOW = 8000  # samples: a frame at most this far (1 s) behind the next slot is late; further, a new start


class JitterQueue:
    def __init__(self, depth: int = 2) -> None:
        self.depth = depth
        self._frames: deque[AudioFrame] = deque()
        self._playing = False  # False: waiting for the margin (at the start, and after a miss)
        self._next: int | None = None  # the RTP timestamp of the next slot; None before the first frame
        self.played = self.missed = self.late = self.overflow = 0

    def __len__(self) -> int:
        return len(self._frames)

    def put(self, frame: AudioFrame) -> None:
        """A received frame (an RtpEndpoint audio listener)."""
        if self._next is not None:
            behind = (self._next - frame.timestamp) & 0xFFFFFFFF
            if 0 < behind <= _LATE_WINDOW:
                self.late += 1
                return
        frames = self._frames
        if not frames or _after(frame.timestamp, frames[-1].timestamp):
            frames.append(frame)
        else:  # reordered on the way: into its place; a duplicate is dropped
            if any(held.timestamp == frame.timestamp for held in frames):
                return
            index = next(i for i, held in enumerate(frames) if _after(held.timestamp, frame.timestamp))
            frames.insert(index, frame)
        if len(frames) > self.depth:
            frames.popleft()
            self.overflow += 1

    def take(self, now: float) -> bytes | None:
        """The PCM16 of the frame for this tick, or None (silence): nothing held, or still within the margin."""
        frames = self._frames
        if not self._playing:
            if not frames or now - frames[0].arrival < _MARGIN_S:
                return None
            self._playing = True
        if not frames:
            self.missed += 1
            self._playing = False
            if self._next is not None:
                self._next = (self._next + FRAME_SAMPLES) & 0xFFFFFFFF  # this slot is gone
            return None
        frame = frames.popleft()
        self.played += 1
        pcm = frame.pcm
        self._next = (frame.timestamp + len(pcm) // 2) & 0xFFFFFFFF
        if len(pcm) != FRAME_BYTES:
            pcm = pcm[:FRAME_BYTES].ljust(FRAME_BYTES, b"\x00")
        return pcm

    def clear(self) -> None:
        """Drops what is held; the next frame starts afresh (with the margin)."""
        self._frames.clear()
        self._playing = False
        self._next = None


def _after(timestamp: int, other: int) -> bool:
    """Whether RTP `timestamp` is later than `other` (modulo 2**32, within half the range)."""
    return 0 < ((timestamp - other) & 0xFFFFFFFF) < 0x80000000

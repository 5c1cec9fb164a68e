"""CallRecorder: one call leg's whole conversation, both directions, into a WAV file (Twilio's `Record=true`).

    recorder = CallRecorder(endpoint, WavRecorder(path, channels=2), channels=2, track="both")
    recorder.start()      # from the answer on
    ...
    recorder.stop()       # the WavRecorder is left open: its owner closes it

The inbound track is what the far end sent (the endpoint's audio listeners), the outbound track what this
leg sent it: prompts and speech played, a bridged party relayed by a <Dial>, a conference's mix (the
endpoint's sent-audio listener, so it is the audio as it left, whatever produced it). Each direction's frames
wait in a JitterQueue and a 20 ms Ticker writes one frame of each per tick, as the <Dial record> bridge
recorder does (sip/media/bridge.py): per packet, one queue put; per tick, two decodes and one write.
Mono adds the two tracks (clipped to 16 bits); two channels put the inbound track on the left and the
outbound one on the right. A direction with nothing to give at a tick is silence, so the file's length is
the time recorded, whatever was said.

The file's size is bounded by the call: 16 kB a second (mono) or 32 kB (two channels), so the 4 h
RESTCOMM_MAX_CALL_SECONDS default caps a recording at 230 MB (460 MB dual); WavRecorder stops at 4 GiB.
"""

from __future__ import annotations

import logging
from typing import Literal

from sip.media.endpoint import FRAME_BYTES, RtpEndpoint
from sip.media.jitter import JitterQueue
from sip.media.recorder import WavRecorder
from sip.media.summing import to_lanes, to_pcm
from sip.media.ticker import Ticker

log = logging.getLogger(__name__)

Track = Literal["inbound", "outbound", "both"]
_SILENCE = bytes(FRAME_BYTES)


class CallRecorder:
    def __init__(self, endpoint: RtpEndpoint, recorder: WavRecorder, *, track: Track = "both") -> None:
        if track not in ("inbound", "outbound", "both"):
            raise ValueError(f"a track is inbound, outbound or both, not {track!r}")
        self.endpoint = endpoint
        self.recorder = recorder
        self.dual = recorder.channels == 2
        self._inbound = JitterQueue() if track != "outbound" else None
        self._outbound = JitterQueue() if track != "inbound" else None
        self._ticker = Ticker(self._tick)
        self._recorded_to: int | None = None  # the tick after the last one written
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        if self._running or self.recorder.closed:
            return
        self._running = True
        if self._inbound is not None:
            self.endpoint.listen(self._inbound.put)
        if self._outbound is not None:
            self.endpoint.listen_sent(self._outbound.put)
        self._ticker.start()

    def stop(self) -> None:
        """No more audio is taken or written (idempotent); what is held in the queues (40 ms at most) is let go."""
        if not self._running:
            return
        self._running = False
        self._ticker.stop()
        if self._inbound is not None:
            self.endpoint.unlisten(self._inbound.put)
        if self._outbound is not None:
            self.endpoint.listen_sent(None)

    def _tick(self, tick: int) -> None:
        recorder = self.recorder
        frame_bytes = 2 * FRAME_BYTES if self.dual else FRAME_BYTES
        if self._recorded_to is not None and tick > self._recorded_to:  # the loop stalled: keep the time
            recorder.write(bytes(frame_bytes * (tick - self._recorded_to)))
        self._recorded_to = tick + 1
        now = self._ticker.time()  # the clock the frames' arrival times are on
        inbound = self._inbound.take(now) if self._inbound is not None else None
        outbound = self._outbound.take(now) if self._outbound is not None else None
        if self.dual:
            pcm = interleave(inbound or _SILENCE, outbound or _SILENCE)
        elif inbound is not None and outbound is not None:
            pcm = to_pcm(to_lanes(inbound) + to_lanes(outbound), 2)
        else:
            pcm = inbound or outbound or _SILENCE
        try:
            recorder.write(pcm)
        except ValueError:  # its owner closed it: stop writing, the call goes on
            log.warning("call recording %s was closed before its recorder stopped", recorder.path)
            self.stop()


def interleave(left: bytes, right: bytes) -> bytes:
    """Two PCM16 frames of equal length as one two-channel frame (L R L R ...), by slices: no Python loop."""
    out = bytearray(2 * len(left))
    out[0::4] = left[0::2]
    out[1::4] = left[1::2]
    out[2::4] = right[0::2]
    out[3::4] = right[1::2]
    return bytes(out)

"""Answering machine detection on one answered call, inside its owner.

The detector (sip/media/amd.py) hears the call's inbound audio frame by frame, on the event loop as RTP
delivers it (a frame costs tens of microseconds). A wall-clock timer of MachineDetectionTimeout gives up
even when the far end sends nothing at all. The verdict is reported once, to the owner's inbox; stopping
the run (the call ended, or was redirected before a result) lets go of the audio and the timer, so a
detection never keeps a call alive.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from rcml.machine_detection import MachineDetection
from sip.media.amd import MachineDetector, Verdict

log = logging.getLogger(__name__)

# The verdict and the milliseconds from the answer to it (MachineDetectionDuration).
OnVerdict = Callable[[Verdict, int], None]


class DetectionRun:
    def __init__(self, call_sid: str, media: Any, detection: MachineDetection, on_verdict: OnVerdict) -> None:
        self.call_sid = call_sid
        self.detector = MachineDetector(detection.settings())
        self._media = media
        self._on_verdict = on_verdict
        loop = asyncio.get_running_loop()
        self._started = loop.time()
        self._cpu_s = 0.0
        self._timer: asyncio.TimerHandle | None = loop.call_later(detection.timeout_s, self._expire)
        self._listening = media is not None
        if media is None:  # an answer without audio: nothing to hear, nothing to wait for
            loop.call_soon(self._expire)
        else:
            media.listen(self.on_frame)

    @property
    def running(self) -> bool:
        return self._timer is not None

    def stop(self) -> None:
        if self._listening:
            self._media.unlisten(self.on_frame)
            self._listening = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def on_frame(self, frame: Any) -> None:
        """The listener of the call's audio: one received frame (its `pcm`)."""
        started = time.process_time()
        verdict = self.detector.feed(frame.pcm)
        self._cpu_s += time.process_time() - started
        if verdict is not None:
            self._report(verdict)

    def _expire(self) -> None:
        if self.running:
            self._report(self.detector.expire())

    def _report(self, verdict: Verdict) -> None:
        if not self.running:
            return
        self.stop()
        elapsed_ms = round((asyncio.get_running_loop().time() - self._started) * 1000)
        log.debug("call %s: AnsweredBy %s after %d ms (%d ms of audio, detector CPU %.1f ms)", self.call_sid,
                  verdict.answered_by, elapsed_ms, verdict.at_ms, self._cpu_s * 1000)
        self._on_verdict(verdict, elapsed_ms)

"""<Record>: record the caller into a WAV file, then hand the recording to the application.

After an optional beep, audio is recorded until `timeout` seconds of silence, `maxLength` seconds, a key
of `finishOnKey`, or the caller hanging up. Leading and trailing silence is left out, as Twilio's default
trim-silence does. The Recording is saved whatever ended it (a hang-up included) and the application's
`action` (by default the current document) is requested with RecordingUrl, RecordingDuration,
RecordingSid and Digits (the key, or "hangup"). Nothing heard at all: no recording, the document goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import struct
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urljoin

from models import Recording
from rcml.call_control import CallControl
from rcml.verbs.base import (
    Attribute,
    Continue,
    Outcome,
    Redirect,
    Verb,
    boolean,
    finish_keys,
    http_method,
    positive_int,
)
from sip.media.recorder import WavRecorder

# Below this RMS (about -38 dBFS) a 20 ms frame counts as silence: room noise, not speech.
SILENCE_RMS = 400
MAX_LENGTH_S = 4 * 3600


def seconds(raw: str) -> int:
    value = positive_int(raw)
    if value > MAX_LENGTH_S:
        raise ValueError(f"must be at most {MAX_LENGTH_S}")
    return value


def rms(pcm: bytes) -> float:
    count = len(pcm) // 2
    if not count:
        return 0.0
    samples = struct.unpack(f"<{count}h", pcm[: count * 2])
    return math.sqrt(sum(s * s for s in samples) / count)


class Record(Verb):
    name: ClassVar[str] = "Record"
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("action", str, default=None, error_code=13610),
        Attribute("method", http_method, default="POST", error_code=13611),
        Attribute("timeout", seconds, default=5, error_code=13612),
        Attribute("finishOnKey", finish_keys, default="1234567890*#", error_code=13613),
        Attribute("maxLength", seconds, default=3600, error_code=13614),
        Attribute("playBeep", boolean, default=True, error_code=13615),
    )

    async def run(self, call: CallControl) -> Outcome:
        await call.answer()
        if self.values["playBeep"]:
            await call.media.play(call.audio.beep)
        call.clear_digits()
        sid, path = call.recordings.new_file()
        take = _Take(path)
        call.media.listen(take.on_frame)
        ended_by = "hangup"
        try:
            ended_by = await self._until_done(call, take)
        finally:
            call.media.unlisten(take.on_frame)
            take.close()
            if ended_by == "hangup":
                # Cancelled: the call is ending. Save and report without the session, which is going away.
                call.background(self._save_and_report(call, sid, take))
        if not take.heard_seconds:
            await asyncio.to_thread(_remove, path)
            return Continue()
        recording = await self._save(call, sid, take)
        return Redirect(self._action(call), self.values["method"], self._parameters(call, recording, ended_by))

    async def _until_done(self, call: CallControl, take: _Take) -> str:
        """"timeout", "max-length", or the finishing key; cancelled when the call ends."""
        key_task = asyncio.ensure_future(self._finishing_key(call))
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.values["maxLength"]):
                while not key_task.done():
                    # Silence is measured in time, not in frames: a peer that sends nothing is silent too.
                    if loop.time() - take.last_sound >= self.values["timeout"]:
                        return "timeout"
                    await asyncio.wait({key_task}, timeout=0.05)
        except TimeoutError:
            return "max-length"
        finally:
            if not key_task.done():
                key_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await key_task
        return key_task.result()

    async def _finishing_key(self, call: CallControl) -> str:
        while True:
            key = await call.next_digit(3600)
            if key is not None and key in self.values["finishOnKey"]:
                return key

    def _action(self, call: CallControl) -> str:
        return urljoin(call.document_url, self.values["action"] or call.document_url)

    async def _save(self, call: CallControl, sid: str, take: _Take) -> Recording:
        return await call.recordings.save(sid, take.path, account_sid=call.account_sid, call_sid=call.call_sid,
                                          duration=take.heard_seconds)

    @staticmethod
    def _parameters(call: CallControl, recording: Recording, ended_by: str) -> dict[str, str]:
        return {
            "RecordingUrl": call.recording_url(recording.sid),
            "RecordingDuration": str(round(recording.duration)),
            "RecordingSid": recording.sid,
            # The key that ended it, or "hangup"; nothing when silence or maxLength did.
            "Digits": ended_by if ended_by == "hangup" or len(ended_by) == 1 else "",
        }

    async def _save_and_report(self, call: CallControl, sid: str, take: _Take) -> None:
        if not take.heard_seconds:
            await asyncio.to_thread(_remove, take.path)
            return
        recording = await self._save(call, sid, take)
        await call.report(self._action(call), self.values["method"], self._parameters(call, recording, "hangup"))


class _Take:
    """The recording in progress: sound written as it comes, silence held back until sound follows it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.recorder = WavRecorder(path)
        self.heard_seconds = 0.0
        self.last_sound = asyncio.get_running_loop().time()
        self._held_silence: list[bytes] = []

    def on_frame(self, frame: Any) -> None:
        if self.recorder.closed:
            return
        if rms(frame.pcm) < SILENCE_RMS:
            # Silence before the first sound is left out; silence after it is kept only if sound follows.
            if self.heard_seconds:
                self._held_silence.append(frame.pcm)
            return
        for held in self._held_silence:
            self.recorder.write(held)
        self._held_silence.clear()
        self.recorder.write(frame.pcm)
        self.heard_seconds = self.recorder.duration_s
        self.last_sound = asyncio.get_running_loop().time()

    def close(self) -> None:
        if not self.recorder.closed:
            self.recorder.close()


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()

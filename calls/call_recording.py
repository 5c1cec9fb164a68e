"""A whole call recorded from its answer to its end (Twilio's `Record=true` on create), inside its owner.

The owner starts it once the call is answered and stops it when the call ends, whatever ends it. Until then
the audio goes to a WAV file as it comes (sip/media/call_recorder.py). At the end, in the background (the
call's owner does not wait for it): the file is closed, trimmed of leading and trailing silence if asked
(in a thread: it reads the whole file), stored as a Recording of the call (source OutboundAPI), and the
application's RecordingStatusCallback is told, for the events it asked: `in-progress` when recording starts,
`completed` with the duration when it is stored, `absent` instead when nothing but silence was recorded (the
file is then removed and no Recording is kept, as Twilio does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from calls.callbacks import Callback
from calls.services import Services
from calls.types import API_VERSION, TWILIO_API_VERSION, RecordingOptions
from models import Call, clock
from sip.media.call_recorder import CallRecorder
from sip.media.recorder import WavRecorder, trim_silence

log = logging.getLogger(__name__)

RECORDING_EVENTS = ("in-progress", "completed", "absent")
SOURCE = "OutboundAPI"
# Below this RMS (about -38 dBFS) a 20 ms frame is silence, as for <Record> (rcml/verbs/record.py).
SILENCE_RMS = 400


class CallRecording:
    def __init__(self, services: Services, call: Call, media: Any, options: RecordingOptions) -> None:
        self.services = services
        self.call = call
        self.options = options
        self.sid, self.path = services.recordings.new_file()
        self.recording_url = recording_url(services.base_url, call, self.sid)
        self.started_at = clock.now()
        self.wav = WavRecorder(self.path, channels=options.channels)
        self._recorder = CallRecorder(media, self.wav, track=options.track)
        self._recorder.start()
        self._stopped = False
        self._tell("in-progress")

    def stop(self) -> None:
        """The call ended: no more audio; the file is saved and reported in the background. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._recorder.stop()
        self.services.background.spawn(self._save())

    async def _save(self) -> None:
        self.wav.close()
        duration = self.wav.duration_s
        if self.options.trim:
            duration = await asyncio.to_thread(trim_silence, self.path, SILENCE_RMS)
        if duration <= 0:
            await asyncio.to_thread(_remove, self.path)
            self._tell("absent", RecordingDuration="0")
            return
        recording = await self.services.recordings.save(
            self.sid, self.path, account_sid=self.call.account_sid, call_sid=self.call.sid, duration=duration,
            channels=self.options.channels, source=SOURCE, start_time=self.started_at)
        self._tell("completed", RecordingDuration=str(round(recording.duration)))

    def _tell(self, status: str, **extra: str) -> None:
        options = self.options
        if not options.status_callback or status not in options.status_callback_events:
            return
        self.services.callbacks.send(Callback(self.call.account_sid, self.call.sid, options.status_callback,
                                              options.status_callback_method,
                                              status_parameters(self, status, **extra)))


def recording_url(base_url: str, call: Call, sid: str) -> str:
    """Where the application gets the audio: Twilio's RecordingUrl has no extension (append `.wav`,
    as Twilio applications do), RestComm's is the `.wav` file itself."""
    if call.api_version == TWILIO_API_VERSION:
        return f"{base_url}/{TWILIO_API_VERSION}/Accounts/{call.account_sid}/Recordings/{sid}"
    return f"{base_url}/restcomm/{API_VERSION}/Accounts/{call.account_sid}/Recordings/{sid}.wav"


def status_parameters(recording: CallRecording, status: str, **extra: str) -> dict[str, str]:
    """Twilio's RecordingStatusCallback parameters."""
    return {
        "AccountSid": recording.call.account_sid,
        "CallSid": recording.call.sid,
        "RecordingSid": recording.sid,
        "RecordingUrl": recording.recording_url,
        "RecordingStatus": status,
        "RecordingChannels": str(recording.options.channels),
        "RecordingSource": SOURCE,
        "RecordingStartTime": clock.rfc2822(recording.started_at),
        "RecordingTrack": recording.options.track,
        "ErrorCode": "0",
        "Timestamp": clock.rfc2822(clock.now()),
        **extra,
    }


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()

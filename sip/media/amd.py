"""Answering machine detection: who answered a call, from the first seconds of what they send.

The cues, in the order a call produces them:

* Cadence. A person picks up, says something short ("Hello?", "Hi, this is Sam") and waits for an answer.
  A voicemail greeting talks on ("Hi, you've reached ... please leave a message after the tone"). So: speech
  that goes on for `speech_threshold_ms` means a machine; speech that stops, followed by silence, means a
  person. The silence needed is `speech_end_threshold_ms`, except after an utterance as short as a pick-up
  (at most `SHORT_UTTERANCE_MS`) where `SHORT_END_SILENCE_MS` is enough: a greeting's first phrase is
  followed by its next one within a sentence pause (under half a second in the corpus; bench/amd_corpus.py),
  and waiting the full 1.2 s after "Hello?" would make every person wait two and a half seconds.
* The beep. After the greeting a machine plays a steady tone (roughly 350-2000 Hz, 0.2 s or more): frames
  whose energy is almost all in one narrow band, at a frequency that stays put. It ends the greeting.
* Fax CNG: a 1100 Hz tone of 0.5 s (every 3 s) before anyone spoke.
* Silence: nothing at all for `silence_timeout_ms` is `unknown`.

Speech is found from energy in the telephone band (300-3400 Hz) against a noise floor that follows the
line's own noise, and tones are taken out of it (a beep is loud but not speech). Everything runs on 20 ms
frames of 8 kHz PCM16 as RTP delivers them; one frame costs tens of microseconds (numpy's FFT on 40 ms),
so a detection costs a few milliseconds of CPU per call and runs on the event loop.

The verdicts are Twilio's values: `human`, `machine_start` (mode Enable: a machine, said as soon as known),
`machine_end_beep`, `machine_end_silence`, `machine_end_other` (mode DetectMessageEnd: the greeting is over,
by its beep, by silence, or by the timeout), `fax`, `unknown`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

RATE = 8000
FRAME = 160  # 20 ms
FRAME_MS = 20
_WINDOW = 2 * FRAME  # tones are measured over 40 ms: 25 Hz resolution is enough to tell a tone from a voice
_FFT = 512
_BIN_HZ = RATE / _FFT
_HANN = np.hanning(_WINDOW).astype(np.float32)
_FULL_SCALE = float(np.sum(_HANN) ** 2) * 32768.0**2 / 4  # |X|^2 of a full-scale sine's bin, for dBFS

_BAND = (int(300 / _BIN_HZ), int(3400 / _BIN_HZ) + 1)
_TONE_BAND = (int(350 / _BIN_HZ), int(2000 / _BIN_HZ) + 1)

# A frame is speech when its band level is this far above the noise floor, and above an absolute minimum.
SPEECH_ABOVE_FLOOR_DB = 9.0
SPEECH_MIN_DBFS = -50.0
# The noise floor is the quietest frame of the last 1.5 s: speech has pauses between its syllables that
# reach the line's noise, so the floor follows the noise and not the voice, and it rises with the noise.
FLOOR_FRAMES = 75
# Speech starts with this many speech frames in a row (a click or a noise burst is shorter).
ONSET_FRAMES = 3
# A frame is a tone when this share of its band energy lies within two bins of its peak (a voice's
# harmonics spread it out: its frames stay well under a half).
TONE_SHARE = 0.8
# A tone's frames stay within this of its first frame's frequency.
TONE_DRIFT_HZ = 10.0
# A beep: at least this many tonal frames in a row (the 40 ms window makes the first one late by a frame).
BEEP_MIN_FRAMES = 8
# Fax CNG: 1100 Hz for 0.5 s; called after this many frames of it.
CNG_HZ = 1100.0
CNG_TOLERANCE_HZ = 40.0
CNG_MIN_FRAMES = 20
# After an utterance at most this long, this much silence says a person is waiting for an answer.
SHORT_UTTERANCE_MS = 1400
SHORT_END_SILENCE_MS = 700


class AnsweredBy(StrEnum):
    HUMAN = "human"
    MACHINE_START = "machine_start"
    MACHINE_END_BEEP = "machine_end_beep"
    MACHINE_END_SILENCE = "machine_end_silence"
    MACHINE_END_OTHER = "machine_end_other"
    FAX = "fax"
    UNKNOWN = "unknown"

    @property
    def is_machine(self) -> bool:
        return self.value.startswith("machine")


@dataclass(frozen=True)
class AmdSettings:
    """Twilio's parameters (MachineDetection, MachineDetectionTimeout, ...), in milliseconds."""

    detect_message_end: bool = False
    timeout_ms: int = 30_000
    speech_threshold_ms: int = 2400
    speech_end_threshold_ms: int = 1200
    silence_timeout_ms: int = 5000


@dataclass(frozen=True)
class Verdict:
    answered_by: AnsweredBy
    at_ms: int  # audio time of the decision, from the first frame fed
    machine_at_ms: int | None = None  # DetectMessageEnd: when it was known to be a machine


@dataclass
class _Frame:
    level_db: float
    tone_hz: float | None  # the frequency of a tonal frame, else None


class MachineDetector:
    """Feed it the call's inbound audio as it arrives; it answers once, with a Verdict."""

    def __init__(self, settings: AmdSettings | None = None) -> None:
        self.settings = settings or AmdSettings()
        self.verdict: Verdict | None = None
        self._pending = bytearray()
        self._previous = np.zeros(FRAME, dtype=np.float32)
        self._frames = 0
        self._levels: deque[float] = deque(maxlen=FLOOR_FRAMES)
        self._speech_run = 0
        self._speech_start: int | None = None  # ms of the current utterance's first frame
        self._last_speech: int | None = None  # ms of the end of the last speech frame
        self._machine_at: int | None = None
        self._tone_hz: float | None = None
        self._tone_frames = 0
        self._tone_end: int | None = None  # ms a long enough tone stopped, or None

    @property
    def now_ms(self) -> int:
        return self._frames * FRAME_MS

    def feed(self, pcm: bytes) -> Verdict | None:
        """Whole frames of `pcm` are analysed (a partial one waits for the rest); the verdict once there is one."""
        if self.verdict is not None:
            return self.verdict
        self._pending += pcm
        whole = len(self._pending) // (2 * FRAME) * 2 * FRAME
        if not whole:
            return None
        samples = np.frombuffer(bytes(self._pending[:whole]), dtype="<i2").astype(np.float32)
        del self._pending[:whole]
        for frame in samples.reshape(-1, FRAME):
            self._step(frame)
            if self.verdict is not None:
                break
        return self.verdict

    def expire(self) -> Verdict:
        """The timeout passed on the wall clock (the peer may have stopped sending): whatever is known now."""
        if self.verdict is None:
            if self._machine_at is not None:
                self._decide(AnsweredBy.MACHINE_END_OTHER)
            else:
                self._decide(AnsweredBy.UNKNOWN)
        assert self.verdict is not None
        return self.verdict

    # --- one 20 ms frame --------------------------------------------------------------------------------------

    def _step(self, samples: np.ndarray) -> None:
        frame = _analyse(self._previous, samples)
        self._previous = samples
        start = self.now_ms
        self._frames += 1
        self._follow_tone(frame, start)
        self._levels.append(frame.level_db)
        speech = self._is_speech(frame)
        if speech:
            self._speech_run += 1
            if self._speech_run >= ONSET_FRAMES and self._speech_start is None:
                self._speech_start = start - (ONSET_FRAMES - 1) * FRAME_MS
            if self._speech_start is not None:
                self._last_speech = self.now_ms
        else:
            self._speech_run = 0
        self._judge()

    def _is_speech(self, frame: _Frame) -> bool:
        if frame.tone_hz is not None:
            return False
        return frame.level_db > max(min(self._levels) + SPEECH_ABOVE_FLOOR_DB, SPEECH_MIN_DBFS)

    def _follow_tone(self, frame: _Frame, start: int) -> None:
        hz = frame.tone_hz
        if hz is not None and self._tone_hz is not None and abs(hz - self._tone_hz) <= TONE_DRIFT_HZ:
            self._tone_frames += 1
            return
        if self._tone_frames >= BEEP_MIN_FRAMES:
            self._tone_end = start  # the tone stopped at the start of this frame
        self._tone_hz = hz
        self._tone_frames = 1 if hz is not None else 0

    # --- the decision -------------------------------------------------------------------------------------------

    def _judge(self) -> None:
        settings = self.settings
        now = self.now_ms
        heard = self._speech_start is not None
        if not heard and self._tone_frames >= CNG_MIN_FRAMES and abs(self._tone_hz - CNG_HZ) <= CNG_TOLERANCE_HZ:
            self._decide(AnsweredBy.FAX)
            return
        if heard and self._tone_end is not None:
            self._decide(AnsweredBy.MACHINE_END_BEEP if settings.detect_message_end else AnsweredBy.MACHINE_START)
            return
        if heard and self._tone_frames >= BEEP_MIN_FRAMES and not settings.detect_message_end:
            self._decide(AnsweredBy.MACHINE_START)  # a beep after speech: a machine, said without waiting
            return
        if not heard:
            if now >= settings.silence_timeout_ms or now >= settings.timeout_ms:
                self._decide(AnsweredBy.UNKNOWN)
            return
        assert self._speech_start is not None and self._last_speech is not None
        span = self._last_speech - self._speech_start
        silence = now - self._last_speech
        if self._machine_at is None:
            if span >= settings.speech_threshold_ms:
                self._machine_at = now
                if not settings.detect_message_end:
                    self._decide(AnsweredBy.MACHINE_START)
                return
            end_needed = settings.speech_end_threshold_ms
            if span <= SHORT_UTTERANCE_MS:
                end_needed = min(end_needed, SHORT_END_SILENCE_MS)
            if silence >= end_needed and self._tone_frames == 0:
                self._decide(AnsweredBy.HUMAN)
            elif now >= settings.timeout_ms:
                self._decide(AnsweredBy.UNKNOWN)
            return
        # DetectMessageEnd, known to be a machine: wait for the greeting to end.
        if silence >= settings.speech_end_threshold_ms and self._tone_frames == 0:
            self._decide(AnsweredBy.MACHINE_END_SILENCE)
        elif now >= settings.timeout_ms:
            self._decide(AnsweredBy.MACHINE_END_OTHER)

    def _decide(self, answered_by: AnsweredBy) -> None:
        if answered_by.is_machine and self._machine_at is None:
            self._machine_at = self.now_ms
        machine_at = self._machine_at if answered_by.is_machine else None
        self.verdict = Verdict(answered_by, self.now_ms, machine_at)


def _analyse(previous: np.ndarray, samples: np.ndarray) -> _Frame:
    """Band level (dBFS) of the latest 40 ms, and its frequency if it is a steady tone."""
    window = np.concatenate((previous, samples)) * _HANN
    power = np.abs(np.fft.rfft(window, _FFT)) ** 2
    band = power[_BAND[0]:_BAND[1]]
    total = float(band.sum())
    level = 10.0 * np.log10(total / _FULL_SCALE + 1e-12)
    tones = power[_TONE_BAND[0]:_TONE_BAND[1]]
    peak = int(np.argmax(tones)) + _TONE_BAND[0]
    near = float(power[peak - 2:peak + 3].sum())
    if total <= 0.0 or near < TONE_SHARE * total or level < SPEECH_MIN_DBFS:
        return _Frame(level, None)
    # The peak between bins, from the parabola through the log powers around it.
    left, centre, right = np.log(power[peak - 1:peak + 2] + 1e-9)
    denominator = left - 2 * centre + right
    offset = 0.5 * (left - right) / denominator if denominator else 0.0
    return _Frame(level, (peak + offset) * _BIN_HZ)

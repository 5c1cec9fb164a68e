"""The answering machine detector on audio a call would carry: espeak-ng voices through sox's telephone chain
(bench/amd_corpus.py makes them), tones and silence."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from bench import amd_corpus
from sip.media.amd import FRAME, AmdSettings, AnsweredBy, MachineDetector, Verdict


def pcm(audio: np.ndarray) -> bytes:
    return (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def detect(audio: np.ndarray, settings: AmdSettings | None = None) -> Verdict:
    detector = MachineDetector(settings)
    data = pcm(audio)
    for offset in range(0, len(data), 2 * FRAME):
        verdict = detector.feed(data[offset:offset + 2 * FRAME])
        if verdict is not None:
            return verdict
    return detector.expire()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path


def on_the_line(audio: np.ndarray, work: Path, seed: int) -> np.ndarray:
    return amd_corpus.telephone(audio, random.Random(seed), np.random.default_rng(seed), work)


def test_a_short_hello_then_waiting_is_a_person(work: Path) -> None:
    hello = amd_corpus.speak("Hello?", "en-us", 170, 50, work)
    audio = np.concatenate([amd_corpus.silence(0.4), hello, amd_corpus.silence(4.0)])
    verdict = detect(on_the_line(audio, work, 1))
    assert verdict.answered_by == AnsweredBy.HUMAN
    speech_end_ms = (0.4 * 8000 + len(hello)) / 8
    # Decided within a second of the end of "Hello?", well before the 1.2 s end threshold plus slack.
    assert speech_end_ms < verdict.at_ms < speech_end_ms + 1000


def test_a_greeting_is_a_machine_after_the_speech_threshold(work: Path) -> None:
    greeting = amd_corpus.speak("Hi, you have reached Sam. I can't come to the phone right now. Please leave a "
                                "message after the tone.", "en-gb", 160, 50, work)
    audio = np.concatenate([amd_corpus.silence(0.3), greeting, amd_corpus.silence(3.0)])
    verdict = detect(on_the_line(audio, work, 2), AmdSettings())
    assert verdict.answered_by == AnsweredBy.MACHINE_START
    assert 2400 + 300 <= verdict.at_ms < 2400 + 300 + 500


def test_detect_message_end_waits_for_the_beep_and_answers_as_it_ends(work: Path) -> None:
    greeting = amd_corpus.speak("Thank you for calling Acme Dental. Please leave a message after the tone.",
                                "en-us+f3", 170, 60, work)
    before_beep = 0.3 + len(greeting) / 8000 + 0.5
    audio = np.concatenate([amd_corpus.silence(0.3), greeting, amd_corpus.silence(0.5),
                            amd_corpus.tone(1400.0, 0.4), amd_corpus.silence(3.0)])
    verdict = detect(on_the_line(audio, work, 3), AmdSettings(detect_message_end=True))
    assert verdict.answered_by == AnsweredBy.MACHINE_END_BEEP
    beep_end_ms = (before_beep + 0.4) * 1000
    assert beep_end_ms <= verdict.at_ms <= beep_end_ms + 100
    assert verdict.machine_at_ms is not None and verdict.machine_at_ms < before_beep * 1000


def test_a_greeting_without_a_beep_ends_with_silence(work: Path) -> None:
    greeting = amd_corpus.speak("The person you are calling is not available. I will get back to you as soon "
                                "as I can.", "en-029", 170, 40, work)
    audio = np.concatenate([amd_corpus.silence(0.3), greeting, amd_corpus.silence(4.0)])
    verdict = detect(on_the_line(audio, work, 4), AmdSettings(detect_message_end=True))
    assert verdict.answered_by == AnsweredBy.MACHINE_END_SILENCE
    speech_end_ms = (0.3 * 8000 + len(greeting)) / 8
    assert speech_end_ms + 1200 <= verdict.at_ms <= speech_end_ms + 1200 + 200


def test_silence_is_unknown_at_the_silence_timeout(work: Path) -> None:
    verdict = detect(on_the_line(amd_corpus.silence(8.0), work, 5), AmdSettings(silence_timeout_ms=3000))
    assert verdict == Verdict(AnsweredBy.UNKNOWN, 3000)


def test_fax_cng_is_fax(work: Path) -> None:
    cng = np.concatenate([amd_corpus.silence(0.2), amd_corpus.tone(1100.0, 0.5), amd_corpus.silence(3.0)])
    verdict = detect(on_the_line(cng, work, 6))
    assert verdict.answered_by == AnsweredBy.FAX
    assert verdict.at_ms < 1000


def test_a_tone_inside_speech_is_not_a_beep_and_a_voice_is_not_a_tone(work: Path) -> None:
    """A sustained vowel has a dominant harmonic too, but its pitch moves; only a steady tone is a beep."""
    vowel = amd_corpus.speak("Helloooooo, this is the voicemail of John Smith. Bye.", "en-us+f3", 120, 50, work)
    audio = np.concatenate([amd_corpus.silence(0.3), vowel, amd_corpus.silence(3.0)])
    verdict = detect(on_the_line(audio, work, 7), AmdSettings(detect_message_end=True))
    assert verdict.answered_by == AnsweredBy.MACHINE_END_SILENCE


def test_the_timeout_ends_a_greeting_that_never_stops() -> None:
    detector = MachineDetector(AmdSettings(detect_message_end=True, timeout_ms=3000))
    rng = np.random.default_rng(8)
    # Speech-like: bursts of noise shaped by a 4 Hz syllable rhythm, never silent for long.
    t = np.arange(5 * 8000) / 8000
    audio = 0.2 * rng.standard_normal(len(t)) * (0.55 + 0.45 * np.sin(2 * np.pi * 4 * t))
    verdict = detector.feed(pcm(audio))
    assert verdict is not None and verdict.answered_by == AnsweredBy.MACHINE_END_OTHER
    assert verdict.at_ms == 3000


def test_expire_says_what_is_known_when_audio_stops() -> None:
    detector = MachineDetector()
    assert detector.feed(pcm(np.zeros(800))) is None
    assert detector.expire().answered_by == AnsweredBy.UNKNOWN
    # Once decided, the verdict stays.
    assert detector.feed(pcm(np.zeros(8000))).answered_by == AnsweredBy.UNKNOWN

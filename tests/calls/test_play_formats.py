"""<Play> of what applications serve, over real RTP to sipp (issue 19), and of what hostile tenants serve (issue 12
point 1): every format is heard as its tone; a file that is not a prompt is a Notification, the document goes
on, and the API answers while it is decoded."""

from __future__ import annotations

import asyncio
import subprocess
import tempfile
from array import array
from pathlib import Path

import pytest
from starlette.responses import Response

from models import Notification
from sip.media.decoder import decode_bytes
from tests.conftest import ADMIN_SID
from tests.media.audio import frequency, wav_bytes
from tests.media.encoded import encode, encoded_tone
from tests.support.sipp import Sipp

LOUD_RMS = 2000


def _rms(frame: bytes) -> float:
    values = array("h", frame)
    return (sum(v * v for v in values) / max(1, len(values))) ** 0.5


async def _echoed_call(server, url: str, workdir, *, within: float = 30.0) -> tuple[dict, bytes, list]:
    """Places a call to a sipp that echoes RTP; returns the call, the PCM that came back, and the answers of
    API GETs made every 50 ms while the call was live."""
    echoed: list[bytes] = []
    answers: list[int] = []
    async with Sipp("uas_answer.xml", workdir, args=["-rtp_echo"]) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url)
        await server.wait_status(call["sid"], "in-progress")
        server.engine.owners[call["sid"]].media.listen(lambda frame: echoed.append(frame.pcm))

        async def poll() -> None:
            while True:
                answers.append((await server.get(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}.json")).status_code)
                await asyncio.sleep(0.05)

        polling = asyncio.create_task(poll())
        try:
            await server.wait_status(call["sid"], "completed", within=within)
        finally:
            polling.cancel()
        assert await peer.wait() == 0, peer.explain()
    return call, b"".join(echoed), answers


def _loud(pcm: bytes) -> bytes:
    return b"".join(pcm[i:i + 320] for i in range(0, len(pcm), 320) if _rms(pcm[i:i + 320]) > LOUD_RMS)


async def test_hostile_wav_headers_are_notifications_and_the_api_answers_meanwhile(server, application, workdir):
    # Issue 12 point 1: 4 KB claiming 1 Hz held the event loop for 6.8 s; 1 KB at 100,003 Hz for 6.9 s.
    application.on("/one-hz.wav", wav_bytes(1, 1, 1, 2, bytes(4096)))
    application.on("/fast.wav", wav_bytes(1, 1, 100_003, 2, bytes(1024)))
    application.on("/tone.mp3", encoded_tone("mp3", 1000, 1.0))
    url = application.on("/rcml", "<Response><Play>one-hz.wav</Play><Play>fast.wav</Play>"
                                  "<Play>tone.mp3</Play></Response>")
    call, echoed, answers = await _echoed_call(server, url, workdir)
    notes = sorted(await Notification.filter(call_sid=call["sid"]), key=lambda n: n.message_text)
    assert [(n.error_code, n.log) for n in notes] == [(13227, 1), (13227, 1)]
    assert "claims 100003 Hz" in notes[0].message_text and "claims 1 Hz" in notes[1].message_text
    assert answers and set(answers) == {200}  # every GET made during the call answered
    # The document went on: the MP3 after the refused files was played.
    heard = _loud(echoed)
    assert len(heard) / 16000 > 0.8 and frequency(heard) == pytest.approx(1000, abs=5)


async def test_not_audio_truncated_and_huge_files_are_notifications(server, application, workdir):
    application.on("/page.mp3", b"<html><body>Not Found</body></html>")
    whole = encoded_tone("mp3", 1000, 4.0)
    application.on("/cut.mp3", whole[: len(whole) // 2])
    application.on("/huge.mp3", lambda _request: Response(b"\xff\xfb" * 100, headers={
        "Content-Length": str(2 * 1024**3)}))
    # The pause first: three refusals take milliseconds, and the call must still be up when the test looks at it.
    # Three seconds: a loaded machine may see in-progress late (the status is written behind).
    url = application.on("/rcml", '<Response><Pause length="3"/><Play>page.mp3</Play><Play>cut.mp3</Play>'
                                  "<Play>huge.mp3</Play></Response>")
    call, _, answers = await _echoed_call(server, url, workdir)
    notes = await Notification.filter(call_sid=call["sid"])
    assert len(notes) == 3
    by_file = {name: next(n for n in notes if f"/{name} " in n.message_text) for name in ("page.mp3", "cut.mp3",
                                                                                          "huge.mp3")}
    assert by_file["page.mp3"].error_code == 13227 and "not audio" in by_file["page.mp3"].message_text
    assert by_file["cut.mp3"].error_code == 13227 and "truncated" in by_file["cut.mp3"].message_text
    assert by_file["huge.mp3"].error_code == 11750 and "larger than" in by_file["huge.mp3"].message_text
    assert answers and set(answers) == {200}


async def test_each_format_is_heard_as_its_tone(server, application, workdir):
    # One call plays a second of each format, each at its own frequency; the echo is cut into those seconds.
    formats = {"mp3": 400.0, "flac": 600.0, "opus": 800.0, "vorbis": 1000.0, "aiff": 1200.0, "au": 1400.0,
               "wav-float": 1600.0}
    plays = []
    for name, hz in formats.items():
        application.on(f"/tone-{name}", encoded_tone(name, hz, 1.0))
        plays.append(f"<Play>tone-{name}</Play>")
    url = application.on("/rcml", f"<Response>{''.join(plays)}</Response>")
    _, echoed, _ = await _echoed_call(server, url, workdir)
    start = next(i for i in range(0, len(echoed), 320) if _rms(echoed[i:i + 320]) > LOUD_RMS)
    for index, (name, hz) in enumerate(formats.items()):
        second = echoed[start + index * 16000: start + (index + 1) * 16000]
        middle = second[3200:12800]  # 0.2 s either side: what codec delays may shift
        assert _rms(middle) > LOUD_RMS, name
        assert frequency(middle) == pytest.approx(hz, abs=5), name


def _spoken_phrase() -> tuple[bytes, bytes]:
    """An espeak-ng phrase (22,050 Hz WAV) as an MP3, and the phrase at 8 kHz as the far end should hear it."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "phrase.wav"
        subprocess.run(["espeak-ng", "-w", str(path), "--", "One two three. Four five, six seven eight."],
                       check=True, timeout=20)
        wav = path.read_bytes()
    reference = decode_bytes(wav)
    pcm = wav[wav.index(b"data") + 8:]  # espeak-ng writes a plain 44-byte header, mono 16-bit at 22,050 Hz
    return encode(pcm[: len(pcm) & ~1], rate=22050, channels=1, container="mp3", codec="libmp3lame"), reference


def _agreement(heard: list[bool], expected: list[bool]) -> float:
    """The share of the phrase's windows the echo matches (a window the echo lacks does not match)."""
    return sum(a == b for a, b in zip(heard, expected, strict=False)) / len(expected)


def _speaking(pcm: bytes, threshold: float) -> list[bool]:
    return [_rms(pcm[i:i + 320]) > threshold for i in range(0, len(pcm) - 319, 320)]


async def test_a_spoken_mp3_is_heard_word_for_word(server, application, workdir):
    mp3, reference = _spoken_phrase()
    application.on("/phrase", mp3)  # no extension, served as application/xml: the bytes decide
    url = application.on("/rcml", "<Response><Play>phrase</Play></Response>")
    _, echoed, _ = await _echoed_call(server, url, workdir)
    expected = _speaking(reference, 300)
    heard = _speaking(echoed, 300)
    # Align on the first word, then compare the 20 ms windows: speech and pauses where the phrase has them.
    # Where the first word crosses the threshold is known to a window or so (the echo's 20 ms need not fall
    # where the phrase's do, and a word's first window may be just under it): the best of the lags within
    # three windows of that estimate counts. Before it, the echo is silence.
    first = heard.index(True) - expected.index(True)
    candidates = [(([False] * -lag + heard) if lag < 0 else heard[lag:])[: len(expected)]
                  for lag in range(first - 3, first + 4)]
    heard = max(candidates, key=lambda windows: _agreement(windows, expected))
    agree = _agreement(heard, expected)
    # The hang-up may beat the last echoed packet or two back; the agreement still counts every window.
    assert len(expected) - 3 <= len(heard) <= len(expected), (len(heard), len(expected))
    assert agree > 0.8, agree  # the phrase played backwards agrees 65% at its best lag
    assert 0.3 < sum(expected) / len(expected) < 0.95  # the phrase has both words and pauses to compare

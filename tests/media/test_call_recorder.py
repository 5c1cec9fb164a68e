"""CallRecorder over real UDP: a leg's received and sent audio in one WAV, mixed (mono) or one per channel (dual),
and the two-channel WavRecorder, its repair and trim_silence.

The conversations run on a stepped media clock (tests/media/stepped_clock.py): both legs send on their deadlines
and the recorder's ticks take what arrived, whatever the machine's load (on the real clock a loop held up past
the jitter margin turned frames into silence and the levels of a window dropped below the bound).
"""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import pytest

from sip.media.call_recorder import CallRecorder, interleave
from sip.media.recorder import WavRecorder, repair_wav, trim_silence
from tests.media.stepped_clock import SteppedClock, media_sleep
from tests.media.tones import delivered, level_dbfs, tone_pcm

HEARD_HZ, SENT_HZ = 440.0, 1000.0
# Both tones are played at -10.5 dBFS; on the stepped clock no frame of the window is lost to the jitter margin,
# so a track that holds a tone has it at that level (within 1.5 dB, G.711's rounding and the mono sum).
PRESENT = -12.0


def read(path: Path) -> tuple[int, list[bytes]]:
    with wave.open(str(path), "rb") as wav:
        channels = wav.getnchannels()
        pcm = wav.readframes(wav.getnframes())
    width = 2 * channels
    return channels, [b"".join(pcm[i + 2 * c:i + 2 * c + 2] for i in range(0, len(pcm), width))
                      for c in range(channels)]


async def a_conversation(endpoints, monkeypatch: pytest.MonkeyPatch, path: Path, channels: int,
                         track: str = "both") -> CallRecorder:
    """The leg hears 440 Hz from its peer while it plays 1000 Hz to it, for a second, recorded."""
    clock = SteppedClock().install(monkeypatch)
    leg, peer = await endpoints(), await endpoints()
    leg.configure(*peer.local_address, 0)
    peer.configure(*leg.local_address, 8)  # the peer sends PCMA, the leg PCMU: each decoded as it came
    recorder = CallRecorder(leg, WavRecorder(path, channels=channels), track=track)  # type: ignore[arg-type]

    async def scenario() -> None:
        recorder.start()
        await asyncio.gather(peer.play(tone_pcm(HEARD_HZ, 1.0)), leg.play(tone_pcm(SENT_HZ, 1.0)))
        await media_sleep(0.1)
        recorder.stop()

    await clock.run(scenario(), settled=delivered([], [leg, peer]))
    recorder.recorder.close()
    return recorder


async def test_dual_puts_what_the_leg_heard_left_and_what_it_sent_right(endpoints, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = await a_conversation(endpoints, monkeypatch, tmp_path / "dual.wav", 2)
    channels, (left, right) = read(recorder.recorder.path)
    assert channels == 2
    # A frame per 20 ms tick from start() to stop(): the last packets leave at 0.98 s, stop() 0.1 s later.
    assert recorder.recorder.duration_s == pytest.approx(1.08)
    middle = slice(4000, 12000)  # 0.25-0.75 s
    assert level_dbfs(left[middle], HEARD_HZ) > PRESENT and level_dbfs(left[middle], SENT_HZ) < -45
    assert level_dbfs(right[middle], SENT_HZ) > PRESENT and level_dbfs(right[middle], HEARD_HZ) < -45


async def test_mono_mixes_both_directions(endpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = await a_conversation(endpoints, monkeypatch, tmp_path / "mono.wav", 1)
    channels, (mixed,) = read(recorder.recorder.path)
    assert channels == 1
    assert level_dbfs(mixed[4000:12000], HEARD_HZ) > PRESENT and level_dbfs(mixed[4000:12000], SENT_HZ) > PRESENT


async def test_one_track_only(endpoints, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = await a_conversation(endpoints, monkeypatch, tmp_path / "out.wav", 1, track="outbound")
    _, (sent,) = read(recorder.recorder.path)
    assert level_dbfs(sent[4000:12000], SENT_HZ) > PRESENT and level_dbfs(sent[4000:12000], HEARD_HZ) < -45


def test_interleave_alternates_samples() -> None:
    assert interleave(b"\x01\x02\x03\x04", b"\x05\x06\x07\x08") == b"\x01\x02\x05\x06\x03\x04\x07\x08"


def test_two_channel_file_repairs_and_trims(tmp_path: Path) -> None:
    path = tmp_path / "dual.wav"
    silence, sound = bytes(640), interleave(tone_pcm(HEARD_HZ, 0.02), bytes(320))
    recorder = WavRecorder(path, channels=2, sync_every_s=60)
    for frame in [silence] * 25 + [sound] * 50 + [silence] * 10:
        recorder.write(frame)
    recorder.write(b"\x01\x02\x03")  # not a whole two-channel sample frame: dropped
    assert recorder.duration_s == pytest.approx(1.7)
    recorder._file.flush()  # the process "dies" here: the header still says 0 bytes
    assert repair_wav(path) == pytest.approx(1.7)
    recorder._file.close()
    assert trim_silence(path, 400) == pytest.approx(1.0)  # the sound, on the left channel only, is kept
    channels, (left, right) = read(path)
    assert channels == 2 and len(left) == 16000 and right == bytes(16000)
    path.write_bytes(path.read_bytes()[:44])
    WavRecorder(path, channels=2).close()
    assert trim_silence(path, 400) == 0.0  # nothing at all: nothing left

"""Recordings: valid WAV files while being written, after the writer dies abruptly, and after repair."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import pytest

from sip.media.recorder import WavRecorder, repair_wav

SECOND = b"\x01\x02" * 8000  # one second of 8 kHz PCM16


def frames_of(path: Path) -> tuple[int, bytes]:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        return wav.getnframes(), wav.readframes(wav.getnframes())


def test_written_file_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    with WavRecorder(path) as recorder:
        for _ in range(25):
            recorder.write(SECOND[:3200])  # 0.2 s
        assert recorder.duration_s == pytest.approx(5.0)
    assert recorder.closed
    assert frames_of(path) == (40000, SECOND[:3200] * 25)
    recorder.close()  # idempotent


def test_valid_while_being_written(tmp_path: Path) -> None:
    path = tmp_path / "live.wav"
    recorder = WavRecorder(path, sync_every_s=1.0)
    assert frames_of(path) == (0, b"")
    recorder.write(SECOND * 2 + SECOND[:3200])
    count, _ = frames_of(path)  # another process reading mid-call sees a valid file with the synced part
    assert count == 17600  # 2.2 s: synced right after that write
    recorder.close()


def test_abrupt_death_leaves_a_valid_file_and_repair_recovers_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "killed.wav"
    # 2.5 s in 20 ms writes, then the process dies without closing or flushing anything.
    script = textwrap.dedent(f"""
        import os
        from sip.media.recorder import WavRecorder
        recorder = WavRecorder({str(path)!r}, sync_every_s=1.0)
        for _ in range(125):
            recorder.write(b"\\x01\\x02" * 160)
        recorder._file.flush()  # what the OS has when the process dies between two header updates
        os._exit(9)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2], timeout=30, check=False)
    assert result.returncode == 9

    count, data = frames_of(path)
    assert count == 16000  # the last header update, at 2 s: valid, the tail not yet described
    assert data == SECOND * 2

    assert repair_wav(path) == pytest.approx(2.5)
    assert frames_of(path) == (20000, (b"\x01\x02" * 160) * 125)
    assert repair_wav(path) == pytest.approx(2.5)  # harmless on a good file


def test_repair_drops_half_a_sample(tmp_path: Path) -> None:
    path = tmp_path / "half.wav"
    WavRecorder(path).close()
    with path.open("ab") as file:
        file.write(b"\x05\x00\x07")
    assert repair_wav(path) == pytest.approx(1 / 8000)
    assert frames_of(path) == (1, b"\x05\x00")


def test_repair_refuses_other_files(tmp_path: Path) -> None:
    path = tmp_path / "other.wav"
    path.write_bytes(b"not a recording" * 10)
    with pytest.raises(ValueError, match="not a recording"):
        repair_wav(path)

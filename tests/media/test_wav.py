"""WAV files of any rate, width and channel count to 8 kHz mono PCM16: a 1 kHz tone stays 1 kHz at its level,
what is above 4 kHz does not alias into the band, and 30 s of CD-quality stereo converts in well under a second."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest

from sip.media import g711
from sip.media.wav import WavError, decode_wav, read_wav
from tests.media.audio import frequency, interleave, level_db, rms, tone, wav_bytes, write_wav

AMPLITUDE = 0.5


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize("width", [1, 2, 3])
@pytest.mark.parametrize("channels", [1, 2])
def test_tone_keeps_its_frequency_and_level(tmp_path: Path, rate: int, width: int, channels: int) -> None:
    seconds = 0.5
    signal = tone(1000, rate, seconds, AMPLITUDE)
    path = write_wav(tmp_path / "tone.wav", [signal] * channels, rate, width)

    pcm = read_wav(path)

    assert len(pcm) == 2 * (len(signal) * 8000 // rate)
    assert frequency(pcm) == pytest.approx(1000, abs=1)
    # 8-bit input carries its own quantization noise, hence the wider tolerance there.
    assert level_db(pcm, AMPLITUDE) == pytest.approx(0, abs=0.3 if width == 1 else 0.05)


@pytest.mark.parametrize("rate", [16000, 44100, 48000])
def test_content_above_4khz_does_not_alias(tmp_path: Path, rate: int) -> None:
    # 5 kHz would fold to 3 kHz without the low-pass filter.
    path = write_wav(tmp_path / "high.wav", [tone(5000, rate, 0.5, AMPLITUDE)], rate, 2)
    assert level_db(read_wav(path), AMPLITUDE) < -60


def test_passband_is_flat_to_3khz(tmp_path: Path) -> None:
    for hz in (300, 1000, 2000, 3000):
        pcm = read_wav(write_wav(tmp_path / f"{hz}.wav", [tone(hz, 44100, 0.5, AMPLITUDE)], 44100, 2))
        assert level_db(pcm, AMPLITUDE) == pytest.approx(0, abs=0.1), hz


def test_channels_are_averaged(tmp_path: Path) -> None:
    left = tone(1000, 16000, 0.5, AMPLITUDE)
    silent = [0.0] * len(left)
    opposite = [-v for v in left]
    one_side = read_wav(write_wav(tmp_path / "left.wav", [left, silent], 16000, 2))
    cancelled = read_wav(write_wav(tmp_path / "opposite.wav", [left, opposite], 16000, 2))
    assert level_db(one_side, AMPLITUDE / 2) == pytest.approx(0, abs=0.05)
    assert rms(cancelled) < 1


@pytest.mark.parametrize("width", [3, 4])
def test_extensible_header_24_and_32_bit(width: int) -> None:
    data = interleave([tone(1000, 48000, 0.5, AMPLITUDE)] * 2, width)
    pcm = decode_wav(wav_bytes(1, 2, 48000, width, data, extensible=True))
    assert frequency(pcm) == pytest.approx(1000, abs=1)
    assert level_db(pcm, AMPLITUDE) == pytest.approx(0, abs=0.05)


def test_float_and_g711_files() -> None:
    signal = tone(1000, 16000, 0.5, AMPLITUDE)
    as_float = struct.pack(f"<{len(signal)}f", *signal)
    pcm = decode_wav(wav_bytes(3, 1, 16000, 4, as_float))
    assert frequency(pcm) == pytest.approx(1000, abs=1)

    linear = interleave([tone(1000, 8000, 0.5, AMPLITUDE)], 2)
    ulaw = decode_wav(wav_bytes(7, 1, 8000, 1, g711.encode(linear, "PCMU")))
    assert ulaw == g711.decode(g711.encode(linear, "PCMU"), "PCMU")


def test_mono_8khz_16bit_is_returned_as_is(tmp_path: Path) -> None:
    data = interleave([tone(440, 8000, 0.25)], 2)
    assert read_wav(write_wav(tmp_path / "same.wav", [tone(440, 8000, 0.25)], 8000, 2)) == data


def test_thirty_seconds_of_44k_stereo_takes_well_under_a_second(tmp_path: Path) -> None:
    one_second = interleave([tone(1000, 44100, 1.0, AMPLITUDE), tone(1000, 44100, 1.0, AMPLITUDE)], 2)
    path = tmp_path / "long.wav"
    path.write_bytes(wav_bytes(1, 2, 44100, 2, one_second * 30))
    started = time.process_time()
    pcm = read_wav(path)
    cpu = time.process_time() - started
    print(f"30 s of 44.1 kHz stereo: {cpu * 1000:.0f} ms of CPU")
    assert len(pcm) == 2 * 8000 * 30
    assert frequency(pcm) == pytest.approx(1000, abs=0.5)
    assert cpu < 0.6


@pytest.mark.parametrize(("data", "message"), [
    (b"not a wav file at all", "not a RIFF/WAVE"),
    (wav_bytes(0x11, 1, 8000, 1, b"\x00" * 100), "unsupported WAV encoding 0x0011"),  # IMA ADPCM
    (b"RIFF\x04\x00\x00\x00WAVE", "no fmt chunk"),
])
def test_rejected_files(data: bytes, message: str) -> None:
    with pytest.raises(WavError, match=message):
        decode_wav(data)


def test_tiny_and_empty_files() -> None:
    assert decode_wav(wav_bytes(1, 2, 44100, 2, b"")) == b""
    assert decode_wav(wav_bytes(1, 2, 44100, 2, bytes(12))) == b""  # 3 frames: less than one output sample
    assert len(decode_wav(wav_bytes(1, 1, 16000, 2, bytes(10)))) == 4  # 5 samples at 16 kHz: 2 at 8 kHz


def test_truncated_data_chunk_yields_whole_frames() -> None:
    data = interleave([tone(1000, 8000, 0.1)] * 2, 2)
    whole = wav_bytes(1, 2, 8000, 2, data)
    pcm = decode_wav(whole[:-3])  # a dead writer: the header promises more than there is
    assert len(pcm) == 2 * (len(data) // 4 - 1)

"""Audio files to 8 kHz mono PCM16 (sip/media/decoder.py, FFmpeg through PyAV): a 1 kHz tone stays 1 kHz at its
level in every format and width, what is above 4 kHz does not alias into the band; the format is found from the
bytes; files past the bounds (rates, channels, duration, size) or cut short are refused, not decoded."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest

from sip.media import g711
from sip.media.decoder import DecodeError, DecodeLimits, decode_bytes, read_audio, sniff
from tests.media.audio import frequency, interleave, level_db, rms, tone, wav_bytes, write_wav
from tests.media.encoded import FORMATS, encoded_tone

AMPLITUDE = 0.5


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize("width", [1, 2, 3])
@pytest.mark.parametrize("channels", [1, 2])
def test_tone_keeps_its_frequency_and_level(tmp_path: Path, rate: int, width: int, channels: int) -> None:
    seconds = 0.5
    signal = tone(1000, rate, seconds, AMPLITUDE)
    path = write_wav(tmp_path / "tone.wav", [signal] * channels, rate, width)

    pcm = read_audio(path)

    assert abs(len(pcm) - 2 * len(signal) * 8000 / rate) <= 2  # within a sample of the exact length
    assert frequency(pcm) == pytest.approx(1000, abs=1)
    # 8-bit input carries its own quantization noise, hence the wider tolerance there.
    assert level_db(pcm, AMPLITUDE) == pytest.approx(0, abs=0.3 if width == 1 else 0.05)


@pytest.mark.parametrize("rate", [16000, 44100, 48000])
def test_content_above_4khz_does_not_alias(tmp_path: Path, rate: int) -> None:
    # 5 kHz would fold to 3 kHz without the low-pass filter.
    path = write_wav(tmp_path / "high.wav", [tone(5000, rate, 0.5, AMPLITUDE)], rate, 2)
    assert level_db(read_audio(path), AMPLITUDE) < -60


def test_passband_is_flat_to_3khz(tmp_path: Path) -> None:
    for hz in (300, 1000, 2000, 3000):
        pcm = read_audio(write_wav(tmp_path / f"{hz}.wav", [tone(hz, 44100, 0.5, AMPLITUDE)], 44100, 2))
        assert level_db(pcm, AMPLITUDE) == pytest.approx(0, abs=0.1), hz


def test_channels_are_averaged(tmp_path: Path) -> None:
    left = tone(1000, 16000, 0.5, AMPLITUDE)
    silent = [0.0] * len(left)
    opposite = [-v for v in left]
    one_side = read_audio(write_wav(tmp_path / "left.wav", [left, silent], 16000, 2))
    cancelled = read_audio(write_wav(tmp_path / "opposite.wav", [left, opposite], 16000, 2))
    assert level_db(one_side, AMPLITUDE / 2) == pytest.approx(0, abs=0.05)
    assert rms(cancelled) < 1


@pytest.mark.parametrize("width", [3, 4])
def test_extensible_header_24_and_32_bit(width: int) -> None:
    data = interleave([tone(1000, 48000, 0.5, AMPLITUDE)] * 2, width)
    pcm = decode_bytes(wav_bytes(1, 2, 48000, width, data, extensible=True))
    assert frequency(pcm) == pytest.approx(1000, abs=1)
    assert level_db(pcm, AMPLITUDE) == pytest.approx(0, abs=0.05)


def test_float_and_g711_files() -> None:
    signal = tone(1000, 16000, 0.5, AMPLITUDE)
    as_float = struct.pack(f"<{len(signal)}f", *signal)
    pcm = decode_bytes(wav_bytes(3, 1, 16000, 4, as_float))
    assert frequency(pcm) == pytest.approx(1000, abs=1)

    linear = interleave([tone(1000, 8000, 0.5, AMPLITUDE)], 2)
    ulaw = decode_bytes(wav_bytes(7, 1, 8000, 1, g711.encode(linear, "PCMU")))
    assert ulaw == g711.decode(g711.encode(linear, "PCMU"), "PCMU")


def test_mono_8khz_16bit_is_returned_as_is(tmp_path: Path) -> None:
    data = interleave([tone(440, 8000, 0.25)], 2)
    assert read_audio(write_wav(tmp_path / "same.wav", [tone(440, 8000, 0.25)], 8000, 2)) == data


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_plays_its_tone(name: str) -> None:
    data = encoded_tone(name, 1000, 1.0)
    pcm = decode_bytes(data)
    assert len(pcm) / 16000 == pytest.approx(1.0, abs=0.03)  # encoder delay and padding are removed
    assert frequency(pcm) == pytest.approx(1000, abs=1)
    assert level_db(pcm, AMPLITUDE) == pytest.approx(0, abs=1.0)  # lossy codecs move the level a little


@pytest.mark.parametrize(("name", "demuxer"), [
    ("mp3", "mp3"), ("flac", "flac"), ("opus", "ogg"), ("aiff", "aiff"), ("au", "au"), ("wav-float", "wav"),
])
def test_the_bytes_decide_the_format(name: str, demuxer: str) -> None:
    assert sniff(encoded_tone(name, 1000, 0.2)) == demuxer


def test_an_mp3_without_id3_tag_is_found_by_its_frame_header() -> None:
    data = encoded_tone("mp3", 1000, 0.5)
    if data.startswith(b"ID3"):
        data = data[10 + int.from_bytes(data[6:10], "big"):]  # not synchsafe-exact, but the tag is small
    assert sniff(data) == "mp3"
    assert frequency(decode_bytes(data)) == pytest.approx(1000, abs=1)


def _wav_header(rate: int, channels: int = 1, data: bytes = bytes(4000)) -> bytes:
    return wav_bytes(1, channels, rate, 2, data)


@pytest.mark.parametrize(("data", "message", "bound"), [
    (b"<html><body>Not found</body></html>", "not audio in a format", False),
    (bytes(5000), "not audio in a format", False),
    (_wav_header(1), "claims 1 Hz", True),  # issue 12: stalled the server for 7 s with the old reader
    (_wav_header(100_003), "claims 100003 Hz", True),
    (_wav_header(7999), "claims 7999 Hz", True),
    (_wav_header(48001), "claims 48001 Hz", True),
    (_wav_header(8000, channels=9, data=bytes(18 * 100)), "9 channels", True),
    (wav_bytes(0x11, 1, 8000, 1, bytes(100)), "which this server does not play", False),
    (wav_bytes(1, 1, 8000, 2, b""), "holds no audio", False),
    (b"RIFF\x04\x00\x00\x00WAVE", "does not decode", False),
])
def test_refused_files(data: bytes, message: str, bound: bool) -> None:
    with pytest.raises(DecodeError, match=message) as refused:
        decode_bytes(data)
    assert refused.value.bound is bound


def test_the_rates_people_use_are_accepted() -> None:
    for rate in (8000, 11025, 16000, 22050, 32000, 44100, 48000):
        assert len(decode_bytes(_wav_header(rate, data=bytes(2 * rate)))) == 16000


def test_duration_and_size_bounds() -> None:
    three_seconds = encoded_tone("flac", 1000, 3.0, channels=1)
    with pytest.raises(DecodeError, match="longer than 2 s") as refused:
        decode_bytes(three_seconds, DecodeLimits(max_seconds=2))
    assert refused.value.bound
    with pytest.raises(DecodeError, match="larger than 1000 bytes"):
        decode_bytes(three_seconds, DecodeLimits(max_bytes=1000))


# Ogg is not here: a cut Ogg file ends on a page like a whole one, and FFmpeg reads its length from the last page.
@pytest.mark.parametrize("name", ["mp3", "flac"])
def test_a_file_cut_short_is_refused(name: str) -> None:
    whole = encoded_tone(name, 1000, 4.0)
    assert len(decode_bytes(whole)) == pytest.approx(4 * 16000, rel=0.01)
    with pytest.raises(DecodeError, match=r"truncated|does not decode"):
        decode_bytes(whole[: len(whole) // 2])


def test_a_wav_whose_writer_died_plays_what_is_there() -> None:
    data = interleave([tone(1000, 8000, 0.5)], 2)
    whole = wav_bytes(1, 1, 8000, 2, data)
    assert decode_bytes(whole[:-1000]) == data[:-1000]


def test_raw_gsm_is_found_and_decoded() -> None:
    # No encoder for it here: raw GSM 06.10 is 33-byte frames whose first nibble is 0xD, and any 260 bits
    # after it decode (to noise): 50 frames are one second at 8 kHz.
    noise = random.Random(7)
    data = b"".join(bytes([0xD0 | noise.randrange(16)]) + noise.randbytes(32) for _ in range(50))
    assert sniff(data) == "gsm"
    assert len(decode_bytes(data)) == 16000

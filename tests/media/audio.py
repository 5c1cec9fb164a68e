"""Test audio: WAV files written by the standard library's `wave` (independent of the code under test), tones,
and measuring a tone's frequency and level."""

from __future__ import annotations

import math
import struct
import wave
from array import array
from pathlib import Path


def tone(frequency: float, rate: int, seconds: float, amplitude: float = 0.5) -> list[float]:
    """A sine in [-1, 1]; a whole number of cycles when frequency * seconds is an integer."""
    step = 2 * math.pi * frequency / rate
    return [amplitude * math.sin(step * i) for i in range(round(rate * seconds))]


def sample_bytes(value: float, width: int) -> bytes:
    """One sample of a WAV file: unsigned for 8-bit, signed little-endian otherwise."""
    if width == 1:
        return bytes([min(255, max(0, round(value * 127) + 128))])
    scale = (1 << (8 * width - 1)) - 1
    return max(-scale, min(scale, round(value * scale))).to_bytes(width, "little", signed=True)


def interleave(channels: list[list[float]], width: int) -> bytes:
    return b"".join(sample_bytes(v, width) for frame in zip(*channels, strict=True) for v in frame)


def write_wav(path: Path, channels: list[list[float]], rate: int, width: int) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(len(channels))
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(interleave(channels, width))
    return path


def wav_bytes(fmt_tag: int, channels: int, rate: int, width: int, data: bytes, *, extensible: bool = False) -> bytes:
    """A WAV file built by hand, for encodings `wave` cannot write (extensible, float, G.711)."""
    block = channels * width
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, 8 * width, 22, 8 * width,
                          0) + struct.pack("<H", fmt_tag) + guid_tail
    else:
        fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block, block, 8 * width)
    chunks = [b"fmt ", struct.pack("<I", len(fmt)), fmt, b"junk", struct.pack("<I", 3), b"abc\x00",
              b"data", struct.pack("<I", len(data)), data]
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def samples(pcm: bytes) -> array:
    return array("h", pcm)


def frequency(pcm: bytes, rate: int = 8000) -> float:
    """A tone's frequency from its rising zero crossings (interpolated), over the middle of the signal."""
    values = samples(pcm)
    margin = len(values) // 10
    crossings = [i + values[i] / (values[i] - values[i + 1])
                 for i in range(margin, len(values) - margin - 1) if values[i] < 0 <= values[i + 1]]
    return (len(crossings) - 1) * rate / (crossings[-1] - crossings[0])


def rms(pcm: bytes) -> float:
    values = samples(pcm)
    middle = values[len(values) // 10: -len(values) // 10 or None]
    return math.sqrt(sum(v * v for v in middle) / len(middle))


def level_db(pcm: bytes, amplitude: float) -> float:
    """The RMS of `pcm` relative to a full-length sine of `amplitude` (a fraction of full scale), in dB."""
    return 20 * math.log10(max(rms(pcm), 1e-9) / (amplitude * 32767 / math.sqrt(2)))

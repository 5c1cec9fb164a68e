"""The project's own WAV reader, as it was before FFmpeg (sip/media/decoder.py) replaced it: kept only as the
baseline bench.decode measures against. It decodes on the calling thread with no bound on the header's rate
(a 4 KB file claiming 1 Hz takes seconds), which is why it left the server.

Reading WAV files into what the media engine plays: 8 kHz mono PCM16.

A small RIFF reader rather than the standard `wave` module, which refuses WAVE_FORMAT_EXTENSIBLE before
Python 3.12 (the usual header of 24-bit and multi-channel files) and has no float or G.711 support.
Accepted: integer PCM of 8/16/24/32 bits, 32/64-bit float, A-law and µ-law; any rate, any channel count.
"""

from __future__ import annotations

import struct
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

from bench.legacy_resample import TARGET_RATE, to_mono16
from sip.media import g711

_PCM, _FLOAT, _ALAW, _ULAW, _EXTENSIBLE = 0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE
_FMT = struct.Struct("<HHIIHH")


class WavError(ValueError):
    """Not a WAV file, or one whose encoding this reader does not handle."""


@dataclass(frozen=True)
class WavFormat:
    encoding: int  # _PCM, _FLOAT, _ALAW or _ULAW (an extensible file's sub-format)
    channels: int
    rate: int
    width: int  # bytes per sample


def read_wav(path: str | Path, target_rate: int = TARGET_RATE) -> bytes:
    """The file's audio as mono PCM16 at `target_rate` (8 kHz): channels averaged, resampled."""
    return decode_wav(Path(path).read_bytes(), target_rate)


def decode_wav(data: bytes, target_rate: int = TARGET_RATE) -> bytes:
    """Like read_wav, from the bytes of a WAV file (for example fetched over HTTP)."""
    fmt, samples = parse_wav(data)
    if fmt.encoding in (_ALAW, _ULAW):
        samples = memoryview(g711.decode(samples, "PCMA" if fmt.encoding == _ALAW else "PCMU"))
        fmt = WavFormat(_PCM, fmt.channels, fmt.rate, 2)
    elif fmt.encoding == _FLOAT:
        samples = memoryview(_float_to_pcm16(samples, fmt.width))
        fmt = WavFormat(_PCM, fmt.channels, fmt.rate, 2)
    return to_mono16(samples, rate=fmt.rate, channels=fmt.channels, width=fmt.width, target_rate=target_rate)


def parse_wav(data: bytes) -> tuple[WavFormat, memoryview]:
    """The format and the raw sample bytes (whole frames only) of a RIFF/WAVE file."""
    view = memoryview(data)
    if len(view) < 12 or view[0:4] != b"RIFF" or view[8:12] != b"WAVE":
        raise WavError("not a RIFF/WAVE file")
    fmt: WavFormat | None = None
    offset = 12
    while offset + 8 <= len(view):
        chunk_id = bytes(view[offset:offset + 4])
        (size,) = struct.unpack_from("<I", view, offset + 4)
        body = view[offset + 8:offset + 8 + size]  # a truncated last chunk yields what is there
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(body)
        elif chunk_id == b"data":
            if fmt is None:
                raise WavError("data chunk before fmt chunk")
            frame = fmt.width * fmt.channels
            return fmt, body[: len(body) - len(body) % frame]
        offset += 8 + size + (size & 1)  # chunks are padded to an even length
    raise WavError("no fmt chunk" if fmt is None else "no data chunk")


def _parse_fmt(body: memoryview) -> WavFormat:
    if len(body) < _FMT.size:
        raise WavError("fmt chunk too short")
    encoding, channels, rate, _, block_align, bits = _FMT.unpack_from(body)
    if encoding == _EXTENSIBLE:
        if len(body) < 26:
            raise WavError("extensible fmt chunk too short")
        (encoding,) = struct.unpack_from("<H", body, 24)  # the first two bytes of the sub-format GUID
    if channels < 1 or rate < 1:
        raise WavError(f"{channels} channels at {rate} Hz")
    # Container width, not `bits`: 20-bit audio in 3-byte samples is read as 24-bit.
    width = block_align // channels
    supported = {_PCM: (1, 2, 3, 4), _FLOAT: (4, 8), _ALAW: (1,), _ULAW: (1,)}
    if width not in supported.get(encoding, ()):
        raise WavError(f"unsupported WAV encoding 0x{encoding:04x} with {bits}-bit samples")
    return WavFormat(encoding, channels, rate, width)


def _float_to_pcm16(samples: memoryview, width: int) -> bytes:
    """Float samples in [-1, 1] to PCM16, clipped. A plain loop: rare input, about 0.2 s per million samples."""
    values = array("f" if width == 4 else "d")
    values.frombytes(samples)
    if sys.byteorder == "big":
        values.byteswap()
    pcm = array("h", [-32768 if v <= -1.0 else 32767 if v >= 1.0 else round(v * 32767) for v in values])
    if sys.byteorder == "big":
        pcm.byteswap()
    return pcm.tobytes()

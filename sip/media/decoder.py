"""Tenant-supplied audio files to what the media engine plays: 8 kHz mono PCM16, decoded by FFmpeg (PyAV).

Why PyAV (FFmpeg's libraries, bundled in its PyPI wheel): measured with `python -m bench.decode --candidates`
on this machine, 30 s of 44.1 kHz stereo to 8 kHz mono costs PyAV about 55 ms of CPU as WAV or MP3,
soundfile + soxr 31 / 52 ms, miniaudio 16 / 44 ms, the project's old pure-Python reader 240-280 ms (WAV only).
soundfile 0.14 (libsndfile 1.2.2) reads the same ten formats the benchmark makes, miniaudio eight (no Opus, no
AU). PyAV is kept for decoding, down-mixing and resampling in one library behind one set of bounds, for
FFmpeg's reach past that list (WAV with GSM or MP3 inside, raw GSM), and because what a prompt costs is paid
once per URL (the prompt cache in rcml/audio.py). Swapping the library means changing `decode_bytes` only.

This module is what the worker processes (decode_worker.py) and the pool in front of them (decoder_pool.py)
share: the bounds, the format sniffing, and `decode_bytes`, the decode itself. It runs in a worker, never on
the event loop; tests and benchmarks call it directly on files they made themselves.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

TARGET_RATE = 8000
_BYTES_PER_SECOND = 2 * TARGET_RATE
# Codecs a prompt may be in. Everything else FFmpeg knows (video, subtitles, exotic audio) is refused before a
# single packet is decoded: less of FFmpeg is reachable by a tenant's bytes.
_CODECS = frozenset({
    "mp3", "mp3float", "mp2", "mp2float", "flac", "vorbis", "opus", "libopus", "gsm", "gsm_ms",
    "adpcm_ima_wav", "adpcm_ms", "adpcm_g726", "adpcm_g726le",
})
# A file whose header promises this much more than decodes was cut short (an interrupted upload).
_TRUNCATED_SHORTFALL = 0.1
_TRUNCATED_MIN_S = 0.5


@dataclass(frozen=True)
class DecodeLimits:
    """What a prompt may be. Rates are the ones people use: a WAV header claiming 1 Hz or 100,003 Hz is not
    a prompt, and resampling it is what once held the event loop for seconds."""

    max_bytes: int = 16 * 1024 * 1024
    max_seconds: float = 600.0
    min_rate: int = 8000
    max_rate: int = 48000
    max_channels: int = 8
    timeout_s: float = 20.0
    # Address space of a worker process (RLIMIT_AS): a decoder that wants more fails in the worker.
    memory_bytes: int = 1 << 30


class DecodeError(ValueError):
    """The bytes are not audio this server plays, or are past one of the limits (`bound`)."""

    def __init__(self, message: str, *, bound: bool = False) -> None:
        super().__init__(message)
        self.bound = bound


def sniff(data: bytes | memoryview) -> str | None:
    """The FFmpeg demuxer for these bytes, from their first bytes; the Content-Type a server sends and the
    URL's extension say nothing reliable (MP3 comes as application/octet-stream all the time)."""
    head = bytes(data[:12])
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b".snd":
        return "au"
    if head[:3] == b"ID3" or _mpeg_frame_sync(head):
        return "mp3"
    if _gsm_frames(data):
        return "gsm"
    return None


def _mpeg_frame_sync(head: bytes) -> bool:
    # 11 set bits, then a version other than "reserved" and a layer other than 0 (which would be AAC's ADTS).
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x18 != 0x08 \
        and head[1] & 0x06 != 0


def _gsm_frames(data: bytes | memoryview) -> bool:
    # Raw GSM 06.10 has no header: 33-byte frames, each starting with the nibble 0xD.
    return len(data) >= 33 and all(data[i] >> 4 == 0xD for i in range(0, min(len(data), 33 * 16), 33))


def decode_bytes(data: bytes, limits: DecodeLimits = DecodeLimits()) -> bytes:
    """The audio in `data` as mono PCM16 at 8 kHz (channels mixed down, resampled by FFmpeg's swresample).

    Raises DecodeError for anything else: an unknown format, a codec that is not audio, a rate or a channel
    count out of bounds, more than `max_seconds`, a file cut short, a decoder error.
    """
    import av  # here, not at the top: only worker processes (and tests) load FFmpeg

    if len(data) > limits.max_bytes:
        raise DecodeError(f"the file is larger than {limits.max_bytes} bytes", bound=True)
    demuxer = sniff(data)
    if demuxer is None:
        raise DecodeError("not audio in a format this server plays (MP3, WAV, FLAC, Ogg, AIFF, AU, GSM)")
    try:
        with av.open(io.BytesIO(data), format=demuxer) as container:
            if not container.streams.audio:
                raise DecodeError(f"the {demuxer} file has no audio stream")
            stream = container.streams.audio[0]
            _check_stream(stream.codec_context, limits)
            pcm = _decode_stream(container, stream, limits)
            declared = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
    except DecodeError:
        raise
    except av.FFmpegError as exc:
        raise DecodeError(f"the {demuxer} file does not decode ({_reason(exc)})") from None
    except MemoryError:
        raise DecodeError(f"decoding needs more than {limits.memory_bytes >> 20} MB", bound=True) from None
    decoded = len(pcm) / _BYTES_PER_SECOND
    if declared is not None and declared <= limits.max_seconds \
            and declared - decoded > max(_TRUNCATED_MIN_S, _TRUNCATED_SHORTFALL * declared):
        raise DecodeError(f"the file is truncated: {decoded:.1f} s of the {declared:.1f} s its header declares")
    if not pcm:
        raise DecodeError(f"the {demuxer} file holds no audio")
    return pcm


def _check_stream(codec, limits: DecodeLimits) -> None:
    name = codec.name
    if name not in _CODECS and not name.startswith("pcm_"):
        raise DecodeError(f"the audio is in {name}, which this server does not play")
    if not limits.min_rate <= codec.sample_rate <= limits.max_rate:
        raise DecodeError(f"the header claims {codec.sample_rate} Hz; prompts are {limits.min_rate}-"
                          f"{limits.max_rate} Hz", bound=True)
    if not 1 <= codec.channels <= limits.max_channels:
        raise DecodeError(f"the header claims {codec.channels} channels; at most {limits.max_channels}",
                          bound=True)


def _decode_stream(container, stream, limits: DecodeLimits) -> bytes:
    import av

    resampler = av.AudioResampler(format="s16", layout="mono", rate=TARGET_RATE)
    cap = int(limits.max_seconds * TARGET_RATE) * 2
    pcm = bytearray()
    truncated = False
    try:
        for frame in container.decode(stream):
            # A stream may change format midway; each frame is held to the same bounds as the header.
            if not limits.min_rate <= frame.sample_rate <= limits.max_rate \
                    or not 1 <= len(frame.layout.channels) <= limits.max_channels:
                raise DecodeError(f"a frame of {frame.sample_rate} Hz, {len(frame.layout.channels)} channels",
                                  bound=True)
            for piece in resampler.resample(frame):
                pcm += memoryview(piece.planes[0])[: 2 * piece.samples]
            if len(pcm) > cap:
                raise DecodeError(f"the audio is longer than {limits.max_seconds:.0f} s", bound=True)
    except av.InvalidDataError:
        # A packet that does not decode after audio that did: the file was cut short. The shortfall check
        # of decode_bytes reports it when the header said how long the file is.
        if not pcm:
            raise
        truncated = True
    for piece in resampler.resample(None):
        pcm += memoryview(piece.planes[0])[: 2 * piece.samples]
    if truncated and (stream.duration is None or not stream.time_base):
        raise DecodeError("the file is truncated: its last packet does not decode")
    return bytes(pcm[:cap])


def _reason(exc: Exception) -> str:
    strerror = getattr(exc, "strerror", None)
    return strerror or type(exc).__name__


def read_audio(path: str | Path, limits: DecodeLimits = DecodeLimits()) -> bytes:
    """decode_bytes of a file on disk, in this process: for files the server or a test made itself (a
    recording, a fixture), never for a tenant's."""
    return decode_bytes(Path(path).read_bytes(), limits)

"""Test audio in the formats <Play> takes, encoded at test time by FFmpeg's encoders through PyAV (the same
library the server decodes with, but its encoders: libmp3lame, flac, libopus, ... are independent code).

    encoded_tone("mp3", 1000, 1.0) -> the bytes of a one-second 1 kHz stereo MP3 at 44.1 kHz
"""

from __future__ import annotations

import functools
import io

import av

from tests.media.audio import interleave, tone

# (container, codec) for each format a test plays; the rate is the codec's most usual one.
FORMATS = {
    "mp3": ("mp3", "libmp3lame", 44100),
    "flac": ("flac", "flac", 44100),
    "opus": ("ogg", "libopus", 48000),
    "vorbis": ("ogg", "vorbis", 44100),
    "aiff": ("aiff", "pcm_s16be", 22050),
    "au": ("au", "pcm_mulaw", 8000),
    "wav-float": ("wav", "pcm_f32le", 48000),
    "wav-adpcm": ("wav", "adpcm_ima_wav", 16000),
}


def encode(pcm: bytes, *, rate: int, channels: int, container: str, codec: str) -> bytes:
    """Interleaved PCM16 encoded in `codec` inside `container`."""
    layout = "mono" if channels == 1 else "stereo" if channels == 2 else f"{channels}c"
    samples = len(pcm) // (2 * channels)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = output.add_stream(codec, rate=rate, layout=layout)
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "experimental"}
        context = stream.codec_context
        source = av.AudioFrame(format="s16", layout=layout, samples=samples)
        source.planes[0].update(pcm)
        source.sample_rate = rate
        source.pts = 0
        # The encoder's own sample format and frame size (MP3: 1152 planar samples per frame).
        resampler = av.AudioResampler(format=context.format.name, layout=layout, rate=rate,
                                      frame_size=context.frame_size or None)
        for frame in [*resampler.resample(source), *resampler.resample(None)]:
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return buffer.getvalue()


@functools.lru_cache(maxsize=64)
def encoded_tone(name: str, hz: float, seconds: float, *, channels: int = 2, amplitude: float = 0.5,
                 rate: int | None = None) -> bytes:
    """A tone of `hz` in format `name` (a key of FORMATS), at the format's usual rate unless `rate` is given.
    Long tones repeat a whole number of cycles per second, so making one costs one second's samples."""
    container, codec, usual = FORMATS[name]
    rate = rate or usual
    whole, part = divmod(seconds, 1.0)
    pcm = interleave([tone(hz, rate, 1.0, amplitude)] * channels, 2) * int(whole)
    if part:
        pcm += interleave([tone(hz, rate, part, amplitude)] * channels, 2)
    return encode(pcm, rate=rate, channels=channels, container=container, codec=codec)

"""Prompt: audio played to many calls, encoded to each codec once instead of once per call."""

from __future__ import annotations

from sip.media import g711


class Prompt:
    """8 kHz mono PCM16 that keeps its G.711 encodings. Pass it to RtpEndpoint.play instead of bytes when the
    same audio goes to many calls (a cached <Play> URL, a hold tone): each codec is encoded once, on first use,
    and every call after that only slices. Encoding costs about 0.5 ms per second of audio, in the first
    play() call that needs it."""

    __slots__ = ("_encoded", "pcm")

    def __init__(self, pcm: bytes | bytearray | memoryview, *, encoded: dict[g711.Codec, bytes] | None = None) -> None:
        """`encoded`: encodings already made (the decoder workers make them off the event loop)."""
        self.pcm = bytes(pcm)[: len(pcm) & ~1]
        self._encoded: dict[g711.Codec, bytes] = dict(encoded or {})

    def __len__(self) -> int:
        """Bytes of PCM16, as len() of the bytes it stands for."""
        return len(self.pcm)

    def encoded(self, codec: g711.Codec) -> bytes:
        payload = self._encoded.get(codec)
        if payload is None:
            payload = self._encoded[codec] = g711.encode(self.pcm, codec)
        return payload

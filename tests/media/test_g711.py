"""G.711 tables: published code/level pairs, and bit-identity with `audioop` (the same Sun reference coder)
over every 16-bit input and every code, where `audioop` still exists."""

from __future__ import annotations

import struct
import warnings
from array import array
from itertools import pairwise

import pytest

from sip.media import g711

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import audioop
    except ImportError:  # Python 3.13+
        audioop = None

EVERY_SAMPLE = array("h", range(-32768, 32768)).tobytes()
EVERY_CODE = bytes(range(256))


def pcm(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}h", *values)


@pytest.mark.parametrize(("codec", "code", "linear"), [
    # Published values: the two zero codes of µ-law, its extremes; A-law's smallest and largest steps.
    ("PCMU", 0xFF, 0), ("PCMU", 0x7F, 0), ("PCMU", 0x80, 32124), ("PCMU", 0x00, -32124),
    ("PCMU", 0xD5, 716), ("PCMU", 0x55, -716),
    ("PCMA", 0xD5, 8), ("PCMA", 0x55, -8), ("PCMA", 0xAA, 32256), ("PCMA", 0x2A, -32256),
    ("PCMA", 0x80, 5504), ("PCMA", 0x00, -5504),
])
def test_decode_known_vectors(codec: g711.Codec, code: int, linear: int) -> None:
    assert g711.decode(bytes([code]), codec) == pcm(linear)


@pytest.mark.parametrize(("codec", "linear", "code"), [
    ("PCMU", 0, 0xFF), ("PCMU", 1, 0xFF), ("PCMU", -1, 0x7E), ("PCMU", 32767, 0x80), ("PCMU", -32768, 0x00),
    ("PCMA", 0, 0xD5), ("PCMA", -1, 0x55), ("PCMA", 32767, 0xAA), ("PCMA", -32768, 0x2A),
])
def test_encode_known_vectors(codec: g711.Codec, linear: int, code: int) -> None:
    assert g711.encode(pcm(linear), codec) == bytes([code])


@pytest.mark.skipif(audioop is None, reason="audioop is gone (Python 3.13+): the table is checked by vectors")
def test_bit_identical_to_audioop_for_every_input_and_code() -> None:
    assert g711.encode(EVERY_SAMPLE, "PCMU") == audioop.lin2ulaw(EVERY_SAMPLE, 2)
    assert g711.encode(EVERY_SAMPLE, "PCMA") == audioop.lin2alaw(EVERY_SAMPLE, 2)
    assert g711.decode(EVERY_CODE, "PCMU") == audioop.ulaw2lin(EVERY_CODE, 2)
    assert g711.decode(EVERY_CODE, "PCMA") == audioop.alaw2lin(EVERY_CODE, 2)


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_decoding_then_encoding_gives_the_code_back(codec: g711.Codec) -> None:
    again = g711.encode(g711.decode(EVERY_CODE, codec), codec)
    differing = [code for code in range(256) if again[code] != code]
    # µ-law has two zeros (0xFF and 0x7F); a zero sample encodes as 0xFF.
    assert differing == ([0x7F] if codec == "PCMU" else [])


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_quantizing_is_monotonic(codec: g711.Codec) -> None:
    levels = array("h", g711.decode(g711.encode(EVERY_SAMPLE, codec), codec))
    assert all(a <= b for a, b in pairwise(levels))
    assert len(set(levels)) == (255 if codec == "PCMU" else 256)


def test_edges() -> None:
    assert g711.encode(b"", "PCMU") == b""
    assert g711.decode(b"", "PCMA") == b""
    assert g711.encode(pcm(0) + b"\x01", "PCMU") == b"\xff"  # a trailing odd byte is not a sample
    assert g711.encode(memoryview(pcm(0, 0)), "PCMA") == b"\xd5\xd5"

"""RTP packets (RFC 3550): the fixed 12-byte header out, the full header (CSRCs, extension, padding) in."""

from __future__ import annotations

import struct
from typing import NamedTuple

VERSION_BITS = 0x80  # version 2, no padding, no extension, no CSRC
MARKER = 0x80
HEADER = struct.Struct("!BBHII")
CLOCK_RATE = 8000  # G.711 and telephone-event both tick at 8 kHz


class RtpPacket(NamedTuple):  # a tuple: one is made for every packet received, so cheap to make
    payload_type: int
    marker: bool
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes


def pack(payload_type: int, marker: bool, sequence: int, timestamp: int, ssrc: int, payload: bytes) -> bytes:
    return HEADER.pack(VERSION_BITS, payload_type | (MARKER if marker else 0), sequence & 0xFFFF,
                       timestamp & 0xFFFFFFFF, ssrc) + payload


def parse(data: bytes) -> RtpPacket | None:
    """The packet, or None when `data` is not a well-formed RTP version 2 packet (RTCP included)."""
    if len(data) < HEADER.size:
        return None
    first, second, sequence, timestamp, ssrc = HEADER.unpack_from(data)
    if first >> 6 != 2:
        return None
    payload_type = second & 0x7F
    if 72 <= payload_type <= 76:  # RTCP sent to the RTP port (RFC 5761 demultiplexing)
        return None
    start = HEADER.size + 4 * (first & 0x0F)
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in 32-bit words
        if len(data) < start + 4:
            return None
        (words,) = struct.unpack_from("!H", data, start + 2)
        start += 4 + 4 * words
    end = len(data)
    if first & 0x20:  # padding: the last byte counts the padding bytes, itself included
        end -= data[-1]
    if start > end:
        return None
    return RtpPacket(payload_type, bool(second & MARKER), sequence, timestamp, ssrc, data[start:end])

"""RFC 4733 telephone-events (DTMF in RTP): the 4-byte payload, and telling one key press from its repeats.

One event is one run of packets sharing an RTP timestamp: the first (marker bit set) starts it, updates carry a
growing duration, and the last is sent three times with the E bit. Receivers see every one of them, some
perhaps lost or reordered; a digit must still come out exactly once.
"""

from __future__ import annotations

import struct
from collections import deque

_EVENT = struct.Struct("!BBH")
END_BIT = 0x80
DEFAULT_VOLUME = 10  # -10 dBm0, what most phones send
DIGITS = "0123456789*#ABCD"  # event codes 0-15, in order
EVENT_CODES = {digit: code for code, digit in enumerate(DIGITS)}


def event_code(digit: str) -> int:
    """The event code of a DTMF key (0-9, *, #, A-D; lower-case letters accepted)."""
    code = EVENT_CODES.get(digit.upper()) if len(digit) == 1 else None
    if code is None:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return code


def pack_event(code: int, *, end: bool, duration: int, volume: int = DEFAULT_VOLUME) -> bytes:
    """`duration` is in timestamp units (1/8000 s), capped at the field's 65535."""
    return _EVENT.pack(code, (END_BIT if end else 0) | (volume & 0x3F), min(duration, 0xFFFF))


class DtmfReceiver:
    """Turns telephone-event packets into digits, each once.

    An event is identified by (SSRC, RTP timestamp): its start, updates and end retransmissions all share
    them, and the next key press has a new timestamp. The digit is reported on the first packet seen of an
    event, whichever it is, so a lost start packet delays nothing. Event codes above 15 (flash, tones) are
    ignored. The last few events are remembered, enough for retransmissions and reordering.
    """

    def __init__(self, memory: int = 16) -> None:
        self._seen: deque[tuple[int, int]] = deque(maxlen=memory)

    def feed(self, ssrc: int, timestamp: int, payload: bytes) -> str | None:
        """The digit this packet starts, or None (a repeat, a non-DTMF event, a malformed payload)."""
        if len(payload) < _EVENT.size:
            return None
        code = payload[0]
        if code >= len(DIGITS):
            return None
        key = (ssrc, timestamp)
        if key in self._seen:
            return None
        self._seen.append(key)
        return DIGITS[code]

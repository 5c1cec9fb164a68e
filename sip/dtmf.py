"""DTMF carried in SIP INFO bodies (application/dtmf-relay, and the bare application/dtmf)."""

from __future__ import annotations

from sip.events import Dtmf

DTMF_RELAY = "application/dtmf-relay"
DTMF = "application/dtmf"
_DIGITS = frozenset("0123456789*#ABCD")
# Some phones send the RFC 4733 event number instead of the character for the star and pound keys.
_EVENT_NUMBERS = {"10": "*", "11": "#", "12": "A", "13": "B", "14": "C", "15": "D"}
# What a relay body without a Duration line is taken to mean (a typical key press).
DEFAULT_DURATION_MS = 160


def parse_dtmf(content_type: str, body: str) -> Dtmf | None:
    """The digit an INFO body carries, or None when it carries none we understand."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == DTMF:
        return _digit_event(body.strip(), DEFAULT_DURATION_MS)
    if kind != DTMF_RELAY:
        return None
    fields: dict[str, str] = {}
    for line in body.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            fields[name.strip().lower()] = value.strip()
    duration_text = fields.get("duration", "")
    duration = int(duration_text) if duration_text.isdigit() else DEFAULT_DURATION_MS
    return _digit_event(fields.get("signal", ""), duration)


def _digit_event(signal: str, duration_ms: int) -> Dtmf | None:
    digit = _EVENT_NUMBERS.get(signal, signal.upper())
    if digit not in _DIGITS:
        return None
    return Dtmf(digit, duration_ms)

"""SIP messages as they went on the wire, for the record of a call's signalling (Calls/{CallSid}/SipMessages).

The SIP thread only captures: sippy's message log (sip/sipside/output.py) appends (time, sippy's prefix, the
datagram) to a `WireTap`, a deque whose append is atomic, which costs a call's SIP thread well under a
microsecond per message. Everything else happens on the loop, in batches (calls/sip_messages.py): finding a
message's Call-ID (`dialog_of`), and for the messages of a followed call, reading it into a `WireMessage`
with its summary bounded and redacted (`read`). Nothing here imports sippy.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from telemetry.redaction import redact

# What a stored message keeps of the text: the start line, the headers and the start of the body (an SDP
# offer or answer fits), enough to see what went wrong without storing whole datagrams.
SUMMARY_LIMIT = 2048
# Captured and not yet drained; past this (a loop that stopped draining) the oldest are dropped.
TAP_LIMIT = 10_000
# Requests that belong to no call's dialog: never worth reading.
OUTSIDE_CALLS = frozenset({"REGISTER", "OPTIONS"})

_CALL_ID = re.compile(r"^(?:call-id|i)[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
_CSEQ = re.compile(r"^cseq[ \t]*:[ \t]*(\d+)[ \t]+([A-Za-z]+)", re.IGNORECASE | re.MULTILINE)

# (time.time(), sippy's "RECEIVED message from udp:h:p:\n" or "SENDING message to h:p:\n", the datagram)
Captured = tuple[float, str, Any]


class WireTap:
    """Filled by the SIP thread, drained by the loop; both sides only append and pop (thread-safe on a deque)."""

    def __init__(self, limit: int = TAP_LIMIT) -> None:
        self._captured: deque[Captured] = deque(maxlen=limit)

    def capture(self, at: float, prefix: str, datagram: Any) -> None:
        self._captured.append((at, prefix, datagram))

    def drain(self) -> list[Captured]:
        captured = self._captured
        taken = []
        while captured:
            taken.append(captured.popleft())
        return taken


@dataclass(frozen=True, slots=True)
class WireMessage:
    at: float
    sent: bool
    # Where it came from or went to, `host:port`.
    peer: str
    call_id: str
    cseq: int | None
    # The request's method, or for a response the method of the request it answers (its CSeq's).
    method: str
    status_code: int | None
    reason: str | None
    # The message's start, at most SUMMARY_LIMIT characters, credentials redacted.
    summary: str


def text_of(datagram: Any) -> str:
    if isinstance(datagram, str):
        return datagram
    return bytes(datagram).decode("utf-8", errors="replace")


def _head(text: str) -> str:
    end = text.find("\r\n\r\n")
    if end < 0:
        end = text.find("\n\n")
    return text if end < 0 else text[:end]


def dialog_of(text: str) -> str | None:
    """The Call-ID of a message that can be part of a call (None for REGISTER, OPTIONS and unreadable ones)."""
    first = text[:12]
    if first.startswith(("REGISTER ", "OPTIONS ")):
        return None
    head = _head(text)
    if first.startswith("SIP/2.0 "):
        cseq = _CSEQ.search(head)
        if cseq is None or cseq.group(2).upper() in OUTSIDE_CALLS:
            return None
    found = _CALL_ID.search(head)
    return found.group(1) if found else None


def read(at: float, prefix: str, text: str, call_id: str) -> WireMessage:
    """One captured message, as it is stored: `prefix` says its direction and peer."""
    sent = prefix.startswith("SENDING")
    head = _head(text)
    start, _, _ = head.partition("\n")
    start = start.strip()
    cseq = _CSEQ.search(head)
    cseq_number = int(cseq.group(1)) if cseq else None
    cseq_method = cseq.group(2).upper() if cseq else ""
    status_code = reason = None
    if start.startswith("SIP/2.0 "):
        _, code, reason = [*start.split(" ", 2), ""][:3]
        status_code = int(code) if code.isdigit() else None
        method = cseq_method
    else:
        method = start.split(" ", 1)[0].upper()
    return WireMessage(
        at=at, sent=sent, peer=_peer(prefix), call_id=call_id[:256], cseq=cseq_number, method=method[:16],
        status_code=status_code, reason=(reason or None) and reason[:128],
        summary=redact(text[:SUMMARY_LIMIT].replace("\r\n", "\n")),
    )


def _peer(prefix: str) -> str:
    """`RECEIVED message from udp:127.0.0.1:5060:\\n` -> `127.0.0.1:5060`."""
    address = prefix.split(" ", 3)[-1].strip().removesuffix(":")
    for transport in ("udp:", "tcp:", "tls:"):
        if address.startswith(transport):
            address = address[len(transport):]
    return address[:64]

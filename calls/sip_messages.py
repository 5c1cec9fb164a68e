"""A call's SIP messages, written behind: what the SIP thread captured (sip/wire.py) is matched to the calls it
belongs to by Call-ID, and stored in batches.

Owners tell the log which Call-IDs are theirs (`follow`: an outbound leg once its INVITE is handed to the
stack, an inbound one once its call row exists) and when their call is over (`release`). A message can be
captured before its dialog is followed (the INVITE of an outbound leg, an inbound INVITE and its 100 Trying):
it waits up to HOLD_S for its follower and is dropped after that (REGISTERs and OPTIONS are never read at all).
After `release` the Call-IDs are followed LINGER_S more, for the 200 to a BYE and late retransmissions.

Every `interval` seconds the log drains the tap on the loop, reads
the followed messages and stores them with one bulk INSERT, off the call's path (rcml/batch_writer.py); a
reader calls `flush()` first (the SipMessages list does). Rows older than the retention are deleted every few
minutes.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import time
from dataclasses import dataclass

from models import sids
from models.sip_message import SipMessage, delete_older_than, save_batch
from rcml.batch_writer import BatchWriter
from sip import wire

HOLD_S = 5.0
LINGER_S = 32.0
# A call stores at most this many messages: a peer sending INFOs or re-INVITEs without end cannot fill the
# database through one call. What comes after is counted in the log, not stored.
MAX_PER_CALL = 500
_SEQUENCE = itertools.count()


@dataclass
class _Follower:
    account_sid: str
    call_sid: str
    stored: int = 0
    # time.monotonic() after which the Call-ID is no longer followed; None while the call lives.
    until: float | None = None


@dataclass
class _Waiting:
    at: float
    prefix: str
    text: str
    call_id: str


class SipMessageLog:
    def __init__(self, tap: wire.WireTap, retention_hours: float = 168.0, *, interval: float = 0.25) -> None:
        self.tap = tap
        self.retention = dt.timedelta(hours=retention_hours)
        self._followers: dict[str, _Follower] = {}
        self._by_call: dict[str, list[str]] = {}
        self._waiting: list[_Waiting] = []
        self._writer = BatchWriter("SIP messages", take=self._collect, save=save_batch, purge=self.purge,
                                   interval=interval, after_flush=self._expire_now_and_then)
        self._last_expiry = 0.0
        self.dropped = 0

    def follow(self, call_id: str, account_sid: str, call_sid: str) -> None:
        """From now on the messages with this Call-ID (and those captured in the last HOLD_S) are the call's."""
        self._followers[call_id] = _Follower(account_sid, call_sid)
        self._by_call.setdefault(call_sid, []).append(call_id)
        self._writer.start()

    def release(self, call_sid: str) -> None:
        """The call is over: its Call-IDs are followed LINGER_S more, then forgotten."""
        until = time.monotonic() + LINGER_S
        for call_id in self._by_call.pop(call_sid, ()):
            follower = self._followers.get(call_id)
            if follower is not None:
                follower.until = until

    async def flush(self) -> None:
        await self._writer.flush()

    def _collect(self) -> list[SipMessage]:
        """The followed messages captured so far, as rows; the others wait (up to HOLD_S) or are dropped."""
        for at, prefix, datagram in self.tap.drain():
            text = wire.text_of(datagram)
            call_id = wire.dialog_of(text)
            if call_id is not None:
                self._waiting.append(_Waiting(at, prefix, text, call_id))
        if not self._waiting:
            return []
        now = time.time()
        rows: list[SipMessage] = []
        still: list[_Waiting] = []
        for waiting in self._waiting:
            follower = self._followers.get(waiting.call_id)
            if follower is None:
                if now - waiting.at < HOLD_S:
                    still.append(waiting)
                continue
            if follower.stored >= MAX_PER_CALL:
                self.dropped += 1
                continue
            follower.stored += 1
            rows.append(_row(follower, wire.read(waiting.at, waiting.prefix, waiting.text, waiting.call_id)))
        self._waiting = still
        return rows

    def _expire_now_and_then(self) -> None:
        """After a timed flush: the lingering Call-IDs are looked at once a second at most."""
        now = time.monotonic()
        if now - self._last_expiry > 1.0:
            self._last_expiry = now
            self._expire()

    def _expire(self) -> None:
        now = time.monotonic()
        for call_id in [key for key, f in self._followers.items() if f.until is not None and f.until < now]:
            del self._followers[call_id]

    async def purge(self) -> int:
        return await delete_older_than(dt.datetime.now(dt.UTC) - self.retention)

    async def close(self) -> None:
        await self._writer.close()


def _row(follower: _Follower, message: wire.WireMessage) -> SipMessage:
    when = dt.datetime.fromtimestamp(message.at, dt.UTC)
    when = when.replace(microsecond=when.microsecond - when.microsecond % 1000)
    # Time-ordered hex: the capture time in microseconds, a sequence number, a few random digits.
    hex_part = f"{int(message.at * 1_000_000):014x}{next(_SEQUENCE) & 0xFFFFFFFF:08x}{secrets.token_hex(5)}"
    return SipMessage(
        sid=sids.SIP_MESSAGE + hex_part, account_sid=follower.account_sid, call_sid=follower.call_sid,
        date_created=when, direction="sent" if message.sent else "received", peer=message.peer,
        sip_call_id=message.call_id, cseq=message.cseq, method=message.method, status_code=message.status_code,
        reason=message.reason, summary=message.summary,
    )

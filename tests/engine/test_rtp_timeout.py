"""The RTP timeout (RESTCOMM_RTP_TIMEOUT_SECONDS) in the owner, with the fake SIP stack and real RTP endpoints: an
answered call whose far end sends nothing for that long is hung up `completed` with a Notification; packets keep
it up, a hold (re-INVITE with sendonly) stops the count and a resume starts it afresh; ringing is not counted.

The test sends the RTP itself, from a socket of its own: the endpoint takes a stranger's packets in while it is
learning where its peer sends from (its first 3 s), longer than any of these tests. Zero (off) and the real
peers: tests/calls/test_rtp_timeout.py."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from models import Call, CallStatus, LogLevel, Notification
from sip.events import Answered, Reoffered, Ringing
from sip.media import rtp
from tests.engine.conftest import ANSWER_SDP, APP, FakeLeg, Harness, answered, eventually

TIMEOUT_S = 0.2
# Beyond the timeout: the owner's check runs at the deadline, then the hang-up writes the row (a loaded machine).
SLACK_S = 0.8
PAUSE = '<Response><Pause length="30"/></Response>'
HOLD = ANSWER_SDP.replace("a=sendrecv", "a=sendonly")


async def answered_call(harness: Harness, answer: Answered | None = None) -> tuple[Call, FakeLeg, Any]:
    harness.engine.services.limits.rtp_timeout_seconds = TIMEOUT_S
    harness.fetcher.documents[f"{APP}/start"] = PAUSE
    call, leg = await harness.place()
    leg.deliver(answer or answered())
    owner = harness.owner(call.sid)
    await eventually(lambda: owner.answered_at is not None)
    return call, leg, owner


class Peer:
    """A far end sending RTP to the call's endpoint every 20 ms, from a thread: a stall of the test's loop
    delays nothing it sends (the packets wait in the socket, and the loop reads them before it runs timers)."""

    def __init__(self, address: tuple[str, int], packets: Iterator[bytes]) -> None:
        self._address = address
        self._packets = packets
        self._stop = threading.Event()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._thread = threading.Thread(target=self._send, daemon=True)
        self.last_sent = 0.0

    def __enter__(self) -> Peer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()

    def _send(self) -> None:
        while not self._stop.wait(0.02):
            self._socket.sendto(next(self._packets), self._address)
            self.last_sent = time.monotonic()


def keys_and_comfort_noise() -> Iterator[bytes]:
    """RFC 4733 events (a key held down) and comfort noise (RFC 3389, payload type 13): no audio at all."""
    for sequence in itertools.count():
        if sequence % 2:
            yield rtp.pack(101, sequence == 1, sequence, 0, 0x5EED, bytes([5, 10, 0, 160]))
        else:
            yield rtp.pack(13, False, sequence, sequence * 160, 0x5EED, bytes([64]))


async def test_a_silent_answered_call_is_hung_up_completed_with_a_notification(harness: Harness):
    call, leg, _ = await answered_call(harness)
    started = time.monotonic()
    ended = await harness.ended(call.sid)
    elapsed = time.monotonic() - started
    assert TIMEOUT_S - 0.05 <= elapsed <= TIMEOUT_S + SLACK_S, elapsed
    assert (ended.status, leg.hangups) == (CallStatus.COMPLETED, 1)
    assert [c.parameters["CallStatus"] for c in harness.callbacks.final(call.sid)] == ["completed"]
    [note] = await Notification.filter(call_sid=call.sid)
    assert (note.error_code, note.log) == (13252, int(LogLevel.WARNING))
    assert "No RTP" in note.message_text and "0.2 s" in note.message_text


async def test_any_rtp_keeps_the_call_up_and_the_timeout_counts_from_the_last_packet(harness: Harness):
    """Key presses and comfort noise count as audio does (the sipp tests send audio)."""
    call, _, owner = await answered_call(harness)
    with Peer(owner.media.local_address, keys_and_comfort_noise()) as peer:
        await asyncio.sleep(2 * TIMEOUT_S)
        assert not owner.finished
    ended = await harness.ended(call.sid)
    after_last = time.monotonic() - peer.last_sent
    assert ended.status == CallStatus.COMPLETED
    assert TIMEOUT_S - 0.05 <= after_last <= TIMEOUT_S + SLACK_S, after_last


async def test_a_hold_stops_the_count_and_a_resume_starts_it_afresh(harness: Harness):
    call, leg, owner = await answered_call(harness)
    leg.deliver(Reoffered(HOLD))
    await asyncio.sleep(2 * TIMEOUT_S)
    assert not owner.finished and not owner.remote_sends
    leg.deliver(Reoffered(ANSWER_SDP))
    resumed = time.monotonic()
    ended = await harness.ended(call.sid)
    elapsed = time.monotonic() - resumed
    assert ended.status == CallStatus.COMPLETED
    assert TIMEOUT_S - 0.05 <= elapsed <= TIMEOUT_S + SLACK_S, elapsed  # from the resume, not from the answer


async def test_calls_whose_peer_is_not_to_send_are_not_timed_out(harness: Harness):
    """A call still ringing (early media that never comes: SIP's timers handle it), and one answered inactive."""
    _, _, inactive = await answered_call(harness, Answered(ANSWER_SDP.replace("a=sendrecv", "a=inactive")))
    call, leg = await harness.place()
    leg.deliver(Ringing(183, ANSWER_SDP))
    ringing = harness.owner(call.sid)
    await asyncio.sleep(2 * TIMEOUT_S)
    assert not inactive.finished and not ringing.finished
    assert ringing.call.status == CallStatus.RINGING
    inactive.post_hangup()
    ringing.post_hangup()

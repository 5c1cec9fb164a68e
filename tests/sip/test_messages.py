"""The plain-value parts of the SIP layer: header names, DTMF bodies, the leg-event contract."""

from __future__ import annotations

import asyncio

import pytest

from sip.dtmf import parse_dtmf
from sip.events import Dtmf, Ended, Ringing
from sip.headers import HeaderDict, canonical_name, check_extra_header
from sip.legs import InboundInvite, InboundLeg, OutboundInvite


def test_header_names_are_canonical_and_lookups_ignore_case() -> None:
    assert [canonical_name(n) for n in ("call-id", "CSEQ", "x-restcomm-callsid", "www-authenticate")] == [
        "Call-ID", "CSeq", "X-Restcomm-Callsid", "WWW-Authenticate"]
    headers = HeaderDict([("via", "a"), ("Via", "b"), ("X-RestComm-CallSid", "CA1")])
    assert headers["VIA"] == "a, b"
    assert headers["x-restcomm-callsid"] == "CA1" and "X-RESTCOMM-CALLSID" in headers
    assert headers.get("Diversion") is None


@pytest.mark.parametrize(("name", "value"), [("Via", "x"), ("Bad Name", "x"), ("X-Ok", "a\r\nInjected: 1")])
def test_extra_headers_that_would_corrupt_a_request_are_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        check_extra_header(name, value)
    with pytest.raises(ValueError):
        OutboundInvite("sip:a@b", "sip:a@b", "1", None, "v=0", headers=((name, value),))


def test_dtmf_bodies() -> None:
    assert parse_dtmf("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n") == Dtmf("5", 160)
    assert parse_dtmf("Application/DTMF-Relay; x=y", "Signal= #\nDuration= 250") == Dtmf("#", 250)
    assert parse_dtmf("application/dtmf-relay", "Signal=11\r\n") == Dtmf("#", 160)
    assert parse_dtmf("application/dtmf", "7") == Dtmf("7", 160)
    assert parse_dtmf("application/dtmf-relay", "Signal=Z") is None
    assert parse_dtmf("application/sdp", "v=0") is None


class NoControl:
    async def act(self, key: int, action: str, *args: object) -> None:
        raise AssertionError("no action expected")


async def test_held_events_are_delivered_in_order_and_nothing_after_the_terminal_one() -> None:
    invite = InboundInvite("c", "bob", "alice", None, "bob", HeaderDict(), None, ("127.0.0.1", 5090))
    leg = InboundLeg(1, NoControl(), invite)
    leg._deliver(Ringing(180, None))
    leg._deliver(Ended(by_remote=True))
    leg._deliver(Ringing(183, None))  # after the terminal event: dropped
    seen: list[object] = []
    leg.set_event_sink(seen.append)
    assert seen == []  # delivered from the loop, not from inside set_event_sink
    await asyncio.sleep(0)
    assert seen == [Ringing(180, None), Ended(by_remote=True)]
    await leg.answer("v=0")  # the leg has ended: a no-op, no action reaches the SIP side
    await leg.hangup()

"""What an internal room leg carries: the room and participant it is for, and proof that a node sent it.

A caller whose `<Dial><Conference>` runs on a node that does not run the room is joined to it over a SIP leg
from its node to the room's (calls/cluster/room_link.py places it, calls/cluster/room_leg.py takes it). The
INVITE goes to the room's node directly, like any INVITE: what tells it apart is a signature, an HMAC-SHA256
made with the cluster secret (RESTCOMM_CLUSTER_SECRET) over the room, the participant's call, its options
and the time. The room's node checks it in constant time and refuses anything else with 403, so neither a
tenant nor a stranger can seat a leg in a room; the time bounds a replayed INVITE to SIGNATURE_TTL_S, and
the room's node refuses a call already in the room.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from rcml.call_control import RoomOptions
from sip.headers import HeaderDict

ROOM_HEADER = "X-RestComm-Room"
PARTICIPANT_HEADER = "X-RestComm-Participant"
OPTIONS_HEADER = "X-RestComm-Room-Options"
TIME_HEADER = "X-RestComm-Room-Time"
SIGNATURE_HEADER = "X-RestComm-Room-Signature"
# Node clocks agree to well within a lease (NTP, as the leases already need); a minute covers any of them.
SIGNATURE_TTL_S = 60
_FLAGS = ("muted", "beep", "start_conference_on_enter", "end_conference_on_exit")


class BadClaim(Exception):
    """Not a room leg a node of this cluster signed (or it is too old)."""


@dataclass(frozen=True)
class RoomClaim:
    """Who the leg is for: the caller's call (the participant's SID everywhere) in that conference."""

    conference_sid: str
    call_sid: str
    options: RoomOptions


def options_text(options: RoomOptions) -> str:
    """`muted=0;beep=1;start_conference_on_enter=1;end_conference_on_exit=0;max_participants=40`.

    The wait music is not carried: the room's node plays none to a caller of another node (README)."""
    flags = [f"{name}={int(getattr(options, name))}" for name in _FLAGS]
    return ";".join([*flags, f"max_participants={options.max_participants}"])


def parse_options(text: str) -> RoomOptions:
    values: dict[str, str] = {}
    for pair in text.split(";"):
        name, _, value = pair.partition("=")
        values[name.strip()] = value.strip()
    try:
        flags = {name: values[name] == "1" for name in _FLAGS}
        most = int(values["max_participants"])
    except (KeyError, ValueError):
        raise BadClaim(f"unreadable room options {text!r}") from None
    return RoomOptions(**flags, max_participants=most)


def _signature(secret: str, conference_sid: str, call_sid: str, options: str, when: str) -> str:
    message = "\n".join((conference_sid, call_sid, options, when)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, conference_sid: str, call_sid: str, options: RoomOptions,
                   now: float | None = None) -> tuple[tuple[str, str], ...]:
    """The INVITE's extra headers for seating `call_sid` in the room."""
    text = options_text(options)
    when = str(int(time.time() if now is None else now))
    return ((ROOM_HEADER, conference_sid), (PARTICIPANT_HEADER, call_sid), (OPTIONS_HEADER, text),
            (TIME_HEADER, when), (SIGNATURE_HEADER, _signature(secret, conference_sid, call_sid, text, when)))


def is_room_leg(headers: HeaderDict) -> bool:
    """An INVITE that asks to be a room leg (signed or not: either way the room side answers it)."""
    return ROOM_HEADER in headers


def verify(secret: str, headers: HeaderDict, now: float | None = None) -> RoomClaim:
    """The claim of a room leg's INVITE; BadClaim unless this cluster's secret signed it within the TTL."""
    if not secret:
        raise BadClaim("this node has no RESTCOMM_CLUSTER_SECRET: it takes no room legs")
    conference_sid = headers.get(ROOM_HEADER) or ""
    call_sid = headers.get(PARTICIPANT_HEADER) or ""
    text = headers.get(OPTIONS_HEADER) or ""
    when = headers.get(TIME_HEADER) or ""
    given = headers.get(SIGNATURE_HEADER) or ""
    expected = _signature(secret, conference_sid, call_sid, text, when)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise BadClaim("the room leg's signature does not match")
    try:
        age = abs((time.time() if now is None else now) - int(when))
    except ValueError:
        raise BadClaim("the room leg's time is not a number") from None
    if age > SIGNATURE_TTL_S:
        raise BadClaim(f"the room leg was signed {age:.0f} s ago")
    return RoomClaim(conference_sid, call_sid, parse_options(text))

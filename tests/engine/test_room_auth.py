"""The signature of a room leg (calls/cluster/room_auth.py): what the room's node accepts and what it refuses."""

from __future__ import annotations

import pytest

from calls.cluster import room_auth
from rcml.call_control import RoomOptions
from sip.headers import HeaderDict

SECRET = "cluster-secret"
CONFERENCE, CALL = "CF" + "a" * 32, "CA" + "b" * 32
OPTIONS = RoomOptions(muted=True, beep=False, start_conference_on_enter=False, end_conference_on_exit=True,
                      max_participants=7)


def signed(now: float = 1_000_000.0, **changes: str) -> HeaderDict:
    headers = HeaderDict(room_auth.signed_headers(SECRET, CONFERENCE, CALL, OPTIONS, now=now))
    for name, value in changes.items():
        headers[name] = value
    return headers


def test_a_signed_leg_carries_its_room_call_and_options() -> None:
    claim = room_auth.verify(SECRET, signed(), now=1_000_010.0)
    assert (claim.conference_sid, claim.call_sid) == (CONFERENCE, CALL)
    assert claim.options == OPTIONS
    assert room_auth.is_room_leg(signed()) and not room_auth.is_room_leg(HeaderDict([("X-Other", "1")]))


@pytest.mark.parametrize("name, value", [
    (room_auth.ROOM_HEADER, "CF" + "c" * 32),  # another room
    (room_auth.PARTICIPANT_HEADER, "CA" + "d" * 32),  # another call
    (room_auth.OPTIONS_HEADER, "muted=0;beep=0;start_conference_on_enter=0;end_conference_on_exit=1;"
                               "max_participants=7"),  # unmuted
    (room_auth.TIME_HEADER, "1000050"),  # a later time
    (room_auth.SIGNATURE_HEADER, "0" * 64),
    (room_auth.SIGNATURE_HEADER, ""),
])
def test_a_changed_header_breaks_the_signature(name: str, value: str) -> None:
    with pytest.raises(room_auth.BadClaim):
        room_auth.verify(SECRET, signed(**{name: value}), now=1_000_010.0)


def test_another_secret_a_stale_leg_and_no_secret_are_refused() -> None:
    with pytest.raises(room_auth.BadClaim, match="signature"):
        room_auth.verify("another-secret", signed(), now=1_000_010.0)
    with pytest.raises(room_auth.BadClaim, match="ago"):
        room_auth.verify(SECRET, signed(), now=1_000_000.0 + room_auth.SIGNATURE_TTL_S + 1)
    with pytest.raises(room_auth.BadClaim, match="CLUSTER_SECRET"):
        room_auth.verify("", signed(), now=1_000_010.0)

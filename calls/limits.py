"""The bounds the engine holds every tenant and every caller to (README "Security"): one value each, set from the
settings at start, with the defaults Twilio and the trusted SIP systems use."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Limits:
    """Read when used, so a change (a test's) applies to the calls that follow."""

    # <Dial>: destinations rung at once, as Twilio caps them; the rest are skipped with a Notification.
    dial_max_destinations: int = 10
    # A call with no shorter TimeLimit ends after this long (Twilio's default maximum: 4 hours).
    max_call_seconds: int = 4 * 3600
    # An answered call whose far end has sent no RTP for this long, while not holding the call, is hung up (its
    # peer vanished without a BYE: lost network, NAT binding gone, crashed phone); 0: never. As Asterisk's
    # rtptimeout and FreeSWITCH's media_timeout. A float so the engine's tests can use a fraction of a second.
    rtp_timeout_seconds: float = 60
    # Live calls (every leg of the account's, inbound or placed) on this node past which a new inbound call to
    # the account gets 503 with Retry-After; and the same for the live inbound calls to one number.
    max_calls_per_account: int = 200
    max_calls_per_number: int = 50

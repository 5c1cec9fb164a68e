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

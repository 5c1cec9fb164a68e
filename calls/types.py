"""The values the engine's callers and its modules share: what to place, what to change, where to send it, and
what can go wrong. A leaf: it imports nothing from `calls`, so every module (and every handler) may use it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from models import CallStatus
from rcml.machine_detection import MachineDetection
from sip.destination import Destination
from sip.media.call_recorder import Track

# The RestComm API version: in every resource's ApiVersion, every callback's and every RCML request's
# parameters, the X-RestComm-ApiVersion header of every INVITE, and the paths of the API.
API_VERSION = "2012-04-24"
# Twilio's API version: calls made through the Twilio dialect (twilio.yaml) announce it in their webhooks.
TWILIO_API_VERSION = "2010-04-01"
ZERO_PRICE = "0.00"
PRICE_UNIT = "USD"


@dataclass(frozen=True)
class RecordingOptions:
    """A whole call recorded from answer to end (Twilio's Record=true on create; calls/call_recording.py)."""

    channels: int = 1  # 1 (mono: both directions mixed) or 2 (dual: inbound left, outbound right)
    track: Track = "both"
    trim: bool = True  # Twilio's default for Record on create is trim-silence
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: tuple[str, ...] = ("completed",)


@dataclass(frozen=True)
class CallRequest:
    """A validated request to place a call: POST Calls, or one noun of a <Dial>.

    A new create parameter is a field here (with its default), read by the handler that builds it
    (handlers/calls.py `call_request`) and used where the call is placed (calls/outbound.py) or stored
    (calls/call_rows.py `new_call`).
    """

    from_: str
    to: Destination
    url: str
    method: str = "POST"
    fallback_url: str | None = None
    fallback_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: tuple[str, ...] = ("completed",)
    timeout: int = 60
    # Digest credentials for the far end; kept in memory by the call's owner, never stored.
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    # Answering machine detection on answer (MachineDetection), run by the owner; none by default.
    machine_detection: MachineDetection | None = None
    # Keys sent as RFC 4733 once the callee answers, before its application runs (Twilio's SendDigits; a
    # <Number sendDigits>: before the Dial bridges it); `w` waits half a second (sip/media/key_presses.py).
    send_digits: str | None = None
    # Seconds the call may last from its answer (Twilio's TimeLimit); RESTCOMM_MAX_CALL_SECONDS caps it.
    time_limit: int | None = None
    # The dialect the call is made through: the ApiVersion (and Twilio's extra parameters) of its webhooks.
    api_version: str = API_VERSION
    # Record the whole call (RecordingOptions), from its answer to its end; None: not recorded.
    recording: RecordingOptions | None = None


@dataclass(frozen=True)
class CallChange:
    """A validated live modification (POST Calls/{CallSid})."""

    url: str | None = None
    method: str | None = None
    status: str | None = None
    fallback_url: str | None = None
    fallback_method: str | None = None
    status_callback: str | None = None
    status_callback_method: str | None = None
    move_connected_leg: bool | None = None
    mute: bool | None = None
    # Twilio's TimeLimit on update: the call may last this many seconds more, counted from the change.
    time_limit: int | None = None

    @property
    def is_empty(self) -> bool:
        return all(value is None for value in vars(self).values())

    def settings(self) -> dict[str, str]:
        """The application and callback settings it replaces, as Call fields."""
        return {name: getattr(self, name) for name in _SETTINGS if getattr(self, name) is not None}


_SETTINGS = ("url", "method", "fallback_url", "fallback_method", "status_callback", "status_callback_method")


@dataclass(frozen=True)
class Target:
    """One place to send an INVITE for a call."""

    request_uri: str
    to_uri: str
    next_hop: tuple[str, int] | None = None
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    # Route headers of the INVITE (a registration's Path); the next hop is then the first of them.
    routes: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutboundProxy:
    """Where calls to numbers go (RESTCOMM_OUTBOUND_PROXY)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, text: str) -> OutboundProxy | None:
        """`[user:password@]host[:port]`, as RESTCOMM_OUTBOUND_PROXY gives it; empty means none."""
        if not text:
            return None
        credentials, _, address = text.rpartition("@")
        host, _, port = address.partition(":")
        username, _, password = credentials.partition(":")
        return cls(host, int(port or 5060), username or None, password or None)


class CallNotLive(Exception):
    """The call has ended, or is not in a state that allows the change."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Hold:
    """A participant put on hold (`held`) or taken off it; while held it hears `url`'s audio, or silence."""

    held: bool
    url: str | None = None
    method: str = "GET"


class RoomNotLive(Exception):
    """The conference is not live on any node this one can reach (ended, or its node gone or out of reach)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnknownClient(ValueError):
    """`client:name` names no client of the account."""


class CallEnded(Exception):
    """The call reached its final status before the request could run."""

    def __init__(self, status: str) -> None:
        super().__init__(f"the call has ended ({status})")
        self.status = status


def final_fields(status: CallStatus, end_time: dt.datetime, duration: int) -> dict[str, Any]:
    """What a call's row gets when it ends, wherever it ends (its owner, a recovery, an unowned cancel)."""
    return {"status": status.value, "end_time": end_time, "duration": duration, "price": ZERO_PRICE,
            "price_unit": PRICE_UNIT}


@dataclass(frozen=True)
class CallLimits:
    """An account's limits on the calls it creates through the API (None: no limit)."""

    calls_per_second: float | None = None
    max_concurrent_calls: int | None = None


class TooManyCalls(Exception):
    """The account has as many live calls as its limit allows."""

    def __init__(self, limit: int):
        super().__init__(f"This account may have {limit} live call(s) at a time; try again when one has ended")
        self.limit = limit

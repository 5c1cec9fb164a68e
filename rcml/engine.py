"""The call service: the one place calls are created and changed.

Handlers call `create_call` and `modify_call`; these write the Call row and, once a SIP stack is wired in,
hand the call to its owner, which places it and runs its RCML. Until then a created call stays `queued`:
nothing here pretends a call progressed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models import Call, CallStatus, Direction, clock, sids
from models.call import LIVE_STATUSES
from sip.destination import Destination, caller_display

ZERO_PRICE = "0.00"
PRICE_UNIT = "USD"


@dataclass(frozen=True)
class CallRequest:
    """A validated request to place a call (POST Calls)."""

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

    @property
    def is_empty(self) -> bool:
        return all(value is None for value in vars(self).values())


class CallNotLive(Exception):
    """The call has ended, or is not in a state that allows the change."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


async def create_call(account_sid: str, request: CallRequest) -> Call:
    now = clock.now()
    call = Call(
        sid=sids.new_sid(sids.CALL),
        account_sid=account_sid,
        date_created=now,
        date_updated=now,
        to_address=request.to.display,
        from_address=caller_display(request.from_),
        destination=request.to.target,
        sip_headers=request.to.header_text,
        status=CallStatus.QUEUED.value,
        start_time=now,
        direction=Direction.OUTBOUND_API.value,
        url=request.url,
        method=request.method,
        fallback_url=request.fallback_url,
        fallback_method=request.fallback_method,
        status_callback=request.status_callback,
        status_callback_method=request.status_callback_method,
        status_callback_event=",".join(request.status_callback_events),
        timeout=request.timeout,
    )
    await call.save(force_create=True)
    return call


async def modify_call(call: Call, change: CallChange) -> Call:
    """Apply a live modification to a call that no process is running (it is still queued).

    Raises CallNotLive when the call has ended or cannot take the change.
    """
    if not call.is_live:
        raise CallNotLive(f"Call is not live: it ended as {call.status}")
    if change.mute is not None and call.status != CallStatus.IN_PROGRESS:
        raise CallNotLive(f"Only a call in progress can be muted; this call is {call.status}")
    if change.move_connected_leg and call.status != CallStatus.IN_PROGRESS:
        raise CallNotLive(f"Call is {call.status}: it has no connected leg to move")

    updates = _replacements(change)
    hang_up = change.status == CallStatus.COMPLETED or (
        change.status == CallStatus.CANCELED and call.status in (CallStatus.QUEUED, CallStatus.RINGING)
    )
    if hang_up:
        # Never answered, so it ends canceled whichever of the two was asked for (contract section 7).
        updates.update(_ending(CallStatus.CANCELED, answered_at=None))
    if not updates:
        return call
    updates["date_updated"] = clock.now()
    # Conditional on the call still being live: a concurrent change that ended it wins, and a call in a
    # final status never changes again.
    changed = await Call.filter(sid=call.sid, status__in=[s.value for s in LIVE_STATUSES]).update(**updates)
    await call.refresh_from_db()
    if not changed:
        raise CallNotLive(f"Call is not live: it ended as {call.status}")
    return call


def _replacements(change: CallChange) -> dict[str, object]:
    pairs = {
        "url": change.url,
        "method": change.method,
        "fallback_url": change.fallback_url,
        "fallback_method": change.fallback_method,
        "status_callback": change.status_callback,
        "status_callback_method": change.status_callback_method,
    }
    return {name: value for name, value in pairs.items() if value is not None}


def _ending(status: CallStatus, answered_at) -> dict[str, object]:
    now = clock.now()
    duration = int((now - answered_at).total_seconds()) if answered_at else 0
    return {
        "status": status.value,
        "end_time": now,
        "duration": duration,
        "price": ZERO_PRICE,
        "price_unit": PRICE_UNIT,
    }

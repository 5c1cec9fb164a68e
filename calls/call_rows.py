"""The Call rows the engine writes itself, where no owner does: a new call, a change to a call no owner runs, and
the calls an earlier run of this node left live.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from calls.types import CallChange, CallNotLive, final_fields
from models import Call, CallStatus, Direction, clock, sids
from models.call import LIVE_STATUSES
from rcml.session import Source

_LIVE = [status.value for status in LIVE_STATUSES]


async def new_call(*, account_sid: str, direction: Direction, status: CallStatus, to_address: str,
                   from_address: str, destination: str, source: Source, status_callback: str | None,
                   status_callback_method: str, owner_node: str | None, **details: Any) -> Call:
    """A new call's row, starting now; `details` are the other Call fields its kind knows (timeout, caller...)."""
    now = clock.now()
    call = Call(
        sid=sids.new_sid(sids.CALL),
        account_sid=account_sid,
        date_created=now,
        date_updated=now,
        start_time=now,
        direction=direction.value,
        status=status.value,
        to_address=to_address,
        from_address=from_address,
        destination=destination,
        url=source.url,
        method=source.method,
        fallback_url=source.fallback_url,
        fallback_method=source.fallback_method,
        status_callback=status_callback,
        status_callback_method=status_callback_method,
        owner_node=owner_node,
        **details,
    )
    await call.save(force_create=True)
    return call


async def left_live(node: str) -> list[Call]:
    """The calls `node` owned that are still live in the database: left by a run that stopped abruptly."""
    return await Call.filter(owner_node=node, status__in=_LIVE)


async def still_live(sids: list[str]) -> set[str]:
    """Which of these calls are live in the database."""
    return set(await Call.filter(sid__in=sids, status__in=_LIVE).values_list("sid", flat=True))


async def live_owners() -> set[str]:
    """The nodes that own live calls (served by the partial index calls_live_owner, live calls only)."""
    return set(await Call.filter(status__in=_LIVE, owner_node__not_isnull=True).distinct()
               .values_list("owner_node", flat=True))


async def close_as_failed(call: Call, ended: dt.datetime | None = None) -> bool:
    """Ends a call left live as `failed`, unless something else ended it first; whether this did.

    `ended`: the last moment its node is known to have run it (default now); an answered call's duration
    runs from its answer to then.
    """
    now = clock.now()
    # Never before it began (clocks of two hosts, or a row written after the node's last renewal).
    end_time = max(moment for moment in (ended or now, call.date_created, call.answered_at) if moment is not None)
    duration = int((end_time - call.answered_at).total_seconds()) if call.answered_at is not None else 0
    changed = await Call.filter(sid=call.sid, status__in=_LIVE).update(
        **final_fields(CallStatus.FAILED, end_time, duration), date_updated=now)
    if changed:
        await call.refresh_from_db()
    return bool(changed)


async def modify_unowned(call: Call, change: CallChange) -> Call:
    """A modification of a call no owner runs here: one still queued because SIP is disabled."""
    if not call.is_live:
        raise CallNotLive(f"Call is not live: it ended as {call.status}")
    if change.mute is not None and call.status != CallStatus.IN_PROGRESS:
        raise CallNotLive(f"Only a call in progress can be muted; this call is {call.status}")
    if change.move_connected_leg and call.status != CallStatus.IN_PROGRESS:
        raise CallNotLive(f"Call is {call.status}: it has no connected leg to move")
    updates: dict[str, object] = dict(change.settings())
    if change.mute is not None:
        updates["muted"] = change.mute
    hang_up = change.status == CallStatus.COMPLETED or (
        change.status == CallStatus.CANCELED and call.status in (CallStatus.QUEUED, CallStatus.RINGING))
    if hang_up:
        # Never answered, so it ends canceled whichever of the two was asked for (contract section 7).
        updates.update(final_fields(CallStatus.CANCELED, clock.now(), 0))
    if not updates:
        return call
    updates["date_updated"] = clock.now()
    # Conditional on the call still being live: a concurrent change that ended it wins.
    changed = await Call.filter(sid=call.sid, status__in=_LIVE).update(**updates)
    await call.refresh_from_db()
    if not changed:
        raise CallNotLive(f"Call is not live: it ended as {call.status}")
    return call

"""Closing what a dead node left: its live calls (final status, Notification, final callback) and its rooms.

A node is dead when live calls name it as their owner (or it has a row in `nodes`) and it holds no current
lease. Every node sweeps every few seconds, so several survivors may find the same dead node at once:
each call is closed by one conditional UPDATE (`WHERE status IN live`), which on PostgreSQL as on SQLite
changes the row for exactly one of them, and only the one whose UPDATE changed it sends the callback. That
is the guarantee (one final status, one callback per call) without a lock; a PostgreSQL advisory lock
would add nothing to it and, on this project's pooled connections (their reset query is off), would leak
from one user of the connection to the next.

The same sweep closes, at a node's start, calls owned by a node id that has no lease at all: an earlier run
of a server under another id (another SIP port or hostname) that will never come back to close them.
"""

from __future__ import annotations

import datetime as dt
import logging

from calls import call_rows, notifications
from calls.callbacks import CallbackSender, call_parameters, progress_callback
from calls.rooms import close_rooms_of
from models import Call, clock
from models import node as nodes
from telemetry import call_events
from telemetry.metrics import METRICS

log = logging.getLogger(__name__)

# The Notification a closed call gets (RestComm's 12xxx range is the server's own trouble).
ABANDONED_CODE = 12500


async def close_abandoned(call: Call, callbacks: CallbackSender, message: str,
                          last_seen: dt.datetime | None = None) -> bool:
    """Ends a call no process runs any more as `failed`, with its final callback; whether this closed it.

    `last_seen`: the last moment its node is known to have run (its last lease renewal). The call ends there:
    an answered call's duration is answered_at -> last_seen, never the time the survivor took to notice (up
    to a lease and a sweep later). It may have lasted up to one renewal interval longer; no process knows.
    Without it (the node left no row) the call's own last write stands in, and failing that, now.

    False when something else (its owner's last write, another survivor) ended it first: then nothing is sent.
    """
    if not await call_rows.close_as_failed(call, last_seen or call.date_updated):
        return False
    duration = call.duration or 0
    METRICS.calls_ended.labels(call.direction, "failed").inc()
    call_events.event("call.ended", call_sid=call.sid, account_sid=call.account_sid, status="failed",
                      cause="its node stopped while it was live", duration=duration)
    await notifications.record(account_sid=call.account_sid, call_sid=call.sid, code=ABANDONED_CODE,
                               message=message)
    if call.status_callback and "completed" in call.status_callback_event.split(","):
        callbacks.send(progress_callback(call, call.status_callback, call.status_callback_method,
                                         call_parameters(call), sequence=0, CallDuration=str(duration)))
    return True


class Reaper:
    def __init__(self, node: str, callbacks: CallbackSender) -> None:
        self.node = node
        self.callbacks = callbacks

    async def sweep(self) -> int:
        """Closes the calls and rooms of every dead node; how many calls this node closed."""
        # Owners first, leases second: a node that starts between the two reads is seen alive.
        owners = await call_rows.live_owners()
        now = clock.now()
        expired = await nodes.expired_ids(now)
        live = await nodes.live_ids(now)
        closed = 0
        for dead in sorted((owners | expired) - live - {self.node}):
            closed += await self.close_node(dead)
            await nodes.forget_if_expired(dead, now)
        return closed

    async def close_node(self, dead: str) -> int:
        calls = await call_rows.left_live(dead)
        last_seen = await nodes.last_renewal(dead)
        message = (f"The server node {dead} that ran this call stopped (its lease in the cluster ran out); "
                   f"node {self.node} closed the call as failed")
        closed = 0
        for call in calls:
            closed += await close_abandoned(call, self.callbacks, message, last_seen)
        rooms = await close_rooms_of(dead)
        if closed or rooms:
            log.warning("node %s is dead: closed %d of its call(s) and %d room(s)", dead, closed, rooms)
        return closed

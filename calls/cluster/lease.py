"""This node's lease: its row in `nodes`, renewed every third of the lease so one late renewal is harmless.

The row says where the node is reached (SIP and internal HTTP) and whether it takes new calls (active) or
is finishing its live ones (draining). A node that stops renewing is taken for dead by the others once the
lease has run out (calls/cluster/reaper.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from models import clock
from models import node as nodes
from models.node import NodeState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NodeAddress:
    sip: str  # host:port, "" when SIP is off
    http: str  # base URL of the node's HTTP side, as other nodes reach it


class NodeLease:
    def __init__(self, node: str, address: Callable[[], NodeAddress], *, seconds: float,
                 on_lost: Callable[[], Awaitable[None]] | None = None) -> None:
        """`address` is asked at each renewal: the SIP port is known only once the stack has started.
        `on_lost` runs when a renewal finds the lease had run out (the others may have closed our calls)."""
        self.on_lost = on_lost
        self.node = node
        self.address = address
        self.seconds = seconds
        self.state = NodeState.ACTIVE
        self._renewed_once = False

    @property
    def renew_every(self) -> float:
        return self.seconds / 3

    async def renew(self) -> None:
        now = clock.now()
        address = self.address()
        current = await nodes.renew(self.node, until=now + dt.timedelta(seconds=self.seconds), now=now,
                                    state=self.state, sip_address=address.sip, http_address=address.http)
        if not current and self._renewed_once:
            # Renewals were late by more than a lease (the database out of reach, the process stopped): the
            # other nodes may have closed this node's calls, whose rows then no longer take its writes.
            log.error("the lease of node %s had run out before it was renewed: other nodes may have closed "
                      "its calls", self.node)
            if self.on_lost is not None:
                await self.on_lost()
        self._renewed_once = True

    async def set_state(self, state: NodeState) -> None:
        self.state = state
        await self.renew()

    async def leave(self) -> None:
        """At a clean stop, once this node's calls have ended: nothing of it is left for a survivor to close."""
        await nodes.leave(self.node)

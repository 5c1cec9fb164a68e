"""This node as a member of the cluster: it renews its lease and sweeps for dead nodes, on one timer.

Start before SIP does (no call of this node exists without a lease), stop after the node's calls have
ended (then its row goes, and there is nothing left for the others to close).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from calls.cluster.lease import NodeLease
from calls.cluster.reaper import Reaper
from models.node import NodeState

log = logging.getLogger(__name__)


class ClusterMember:
    def __init__(self, lease: NodeLease, reaper: Reaper) -> None:
        self.lease = lease
        self.reaper = reaper
        self._task: asyncio.Task | None = None

    @property
    def node(self) -> str:
        return self.lease.node

    async def start(self) -> int:
        """The lease taken, one sweep done; how many calls of dead nodes that sweep closed."""
        await self.lease.renew()
        closed = await self.reaper.sweep()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"cluster member {self.node}")
        return closed

    async def drain(self) -> None:
        """Tells the others (and the dispatcher, through OPTIONS) that this node takes no new calls."""
        await self.lease.set_state(NodeState.DRAINING)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.lease.leave()
        except Exception:  # the database gone at stop: the lease runs out by itself
            log.exception("node %s could not remove its row from nodes", self.node)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.lease.renew_every)
            try:
                await self.lease.renew()
                await self.reaper.sweep()
            except Exception:  # a database hiccup: the next turn tries again, well within the lease
                log.exception("node %s: lease renewal or dead-node sweep failed", self.node)

"""The nodes of a cluster: one row per running server process, kept alive by a lease it renews.

A node whose lease has expired is dead (killed, its host gone, or cut off from the database): a survivor
closes the calls and rooms it owned (calls/cluster/reaper.py). Lease times are the nodes' own clocks, so the
hosts' clocks must agree to well within a lease (NTP does).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class NodeState(StrEnum):
    ACTIVE = "active"
    # Told to stop: takes no new calls (answers OPTIONS and INVITE with 503), finishes its live ones.
    DRAINING = "draining"


class Node(Model):
    id = fields.CharField(max_length=64, primary_key=True)
    # host:port where SIP reaches it; empty when its SIP is off.
    sip_address = fields.CharField(max_length=128, default="")
    # Base URL of its HTTP side as the other nodes reach it (changes to its calls are sent there).
    http_address = fields.CharField(max_length=256, default="")
    state = fields.CharField(max_length=16, default=NodeState.ACTIVE.value)
    started_at = fields.DatetimeField()
    lease_expires = fields.DatetimeField()
    # Its last renewal: the last moment it is known to have run (a survivor ends its answered calls there).
    renewed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "nodes"
        table_description = "Server processes sharing this database, each alive while its lease is current."


async def renew(node_id: str, *, until: dt.datetime, now: dt.datetime, state: NodeState, sip_address: str,
                http_address: str) -> bool:
    """Extends `node_id`'s lease to `until` (creating its row); whether the lease was still current.

    False means the node was taken for dead meanwhile (or is new): a survivor may have closed its calls.
    """
    current = await Node.filter(id=node_id, lease_expires__gt=now).update(
        lease_expires=until, renewed_at=now, state=state.value, sip_address=sip_address, http_address=http_address)
    if current:
        return True
    changed = await Node.filter(id=node_id).update(lease_expires=until, renewed_at=now, state=state.value,
                                                   started_at=now, sip_address=sip_address,
                                                   http_address=http_address)
    if not changed:
        await Node.create(id=node_id, lease_expires=until, renewed_at=now, state=state.value, started_at=now,
                          sip_address=sip_address, http_address=http_address)
    return False


async def live_ids(now: dt.datetime) -> set[str]:
    return set(await Node.filter(lease_expires__gt=now).values_list("id", flat=True))


async def live_node(node_id: str, now: dt.datetime) -> Node | None:
    """The node's row while its lease is current; None when it is dead or unknown."""
    return await Node.get_or_none(id=node_id, lease_expires__gt=now)


async def last_renewal(node_id: str) -> dt.datetime | None:
    """When the node last renewed its lease; None when it has no row (or a row from before renewed_at)."""
    rows = await Node.filter(id=node_id).values_list("renewed_at", flat=True)
    return rows[0] if rows else None


async def active_nodes(now: dt.datetime) -> list[Node]:
    """The nodes that take new calls: lease current, state active."""
    return await Node.filter(lease_expires__gt=now, state=NodeState.ACTIVE.value).order_by("id")


async def expired_ids(now: dt.datetime) -> set[str]:
    return set(await Node.filter(lease_expires__lte=now).values_list("id", flat=True))


async def forget_if_expired(node_id: str, now: dt.datetime) -> None:
    """Deletes a dead node's row, unless it came back (renewed its lease) meanwhile."""
    await Node.filter(id=node_id, lease_expires__lte=now).delete()


async def leave(node_id: str) -> None:
    """A node stopping cleanly, its calls ended, takes its row away."""
    await Node.filter(id=node_id).delete()

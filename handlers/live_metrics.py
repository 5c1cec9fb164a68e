"""The metrics of what exists now (live calls, registrations, rooms, this node), read from the engine when
Prometheus scrapes, so they cost a call nothing; each app has its own, as each has its own engine."""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry, Gauge, Info

from calls.engine import CallEngine
from models.client import live_registration_count


class LiveGauges:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.node = Info("restcomm_node", "This server's identity among the nodes of its database", registry=r)
        self.calls = Gauge("restcomm_live_calls", "Calls live on this node, by status and direction",
                           ["status", "direction"], registry=r)
        self.registrations = Gauge("restcomm_registrations", "SIP contacts registered now (all nodes)", registry=r)
        self.rooms = Gauge("restcomm_conference_rooms", "Conference rooms open on this node", registry=r)
        self.participants = Gauge("restcomm_conference_participants", "Calls in this node's conference rooms",
                                  registry=r)
        self.room_legs = Gauge("restcomm_room_legs", "Internal SIP legs joining callers to rooms across nodes: "
                               "'seated' in this node's rooms, 'joined' from this node's callers to others'",
                               ["side"], registry=r)

    async def refresh(self, engine: CallEngine) -> None:
        self.node.info({"node": engine.node})
        counts = Counter((owner.call.status, owner.call.direction) for owner in list(engine.owners.values()))
        self.calls.clear()
        for (status, direction), count in counts.items():
            self.calls.labels(status, direction).set(count)
        self.registrations.set(await live_registration_count() if engine.registrar is not None else 0)
        rooms = engine.rooms.live()
        self.rooms.set(len(rooms))
        self.participants.set(sum(len(room.members) for room in rooms))
        self.room_legs.labels("seated").set(engine.room_legs.seated if engine.room_legs is not None else 0)
        self.room_legs.labels("joined").set(engine.room_links.joined if engine.room_links is not None else 0)

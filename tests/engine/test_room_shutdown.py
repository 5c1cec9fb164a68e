"""A node that stops ends its conference rooms before it lets their room legs go (calls/engine.py `shutdown`).

A room leg is a caller of another node seated in a room of this one (calls/cluster/room_leg.py). Its BYE is
how that caller learns it left, and the room's row tells the caller's node why: completed means the room
ended, live means the caller was removed. The room legs here are fakes with what the room side uses of an
inbound leg; each reads the room's row at the moment its BYE goes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from calls.cluster import room_auth
from calls.cluster.room_leg import RoomLegs
from models import CallStatus, Conference
from rcml.call_control import RoomOptions
from sip import sdp
from sip.events import Confirmed, LegEvent
from sip.headers import HeaderDict
from tests.conftest import ADMIN_SID, make_call
from tests.engine.conftest import WITHIN_S, eventually

SECRET = "a shared cluster secret"


@dataclass
class RoomLeg:
    """A room leg's INVITE as the room's node receives it; `status_at_bye`: the room's status as its BYE went."""

    headers: HeaderDict
    conference_sid: str
    sdp_offer: str = sdp.offer("127.0.0.1", 9)  # a discard port: nothing listens to what the room sends
    source: tuple[str, int] = ("127.0.0.1", 5099)
    sink: Callable[[LegEvent], None] | None = None
    rejected: list[int] = field(default_factory=list)
    status_at_bye: list[str] = field(default_factory=list)

    def set_event_sink(self, sink: Callable[[LegEvent], None]) -> None:
        self.sink = sink

    async def answer(self, _answer: str) -> None:
        asyncio.get_running_loop().call_soon(self.sink, Confirmed())  # the caller's node ACKs

    async def reject(self, code: int, _reason: str, **_: object) -> None:
        self.rejected.append(code)

    async def hangup(self) -> None:
        self.status_at_bye.append((await Conference.get(sid=self.conference_sid)).status)


async def test_a_stopping_node_ends_its_rooms_before_their_legs_leave_so_callers_elsewhere_learn_it_ended(
        harness):
    engine = harness.engine
    engine.room_legs = legs = RoomLegs(engine.rooms, engine.services.media, SECRET, None)
    room = await engine.rooms.room(ADMIN_SID, "standup")
    # A caller of this node, still in the room as the node stops (its call's session leaves after its owner
    # has finished): the room is live while the legs would be let go.
    local = await make_call(status=CallStatus.IN_PROGRESS.value, owner_node=engine.node)
    endpoint = await engine.services.media.open()
    endpoint.configure("127.0.0.1", 9, 0)  # the discard port, as the legs' offers name
    staying = asyncio.ensure_future(room.attend(local.sid, endpoint, RoomOptions(), None))
    seated = []
    for _ in range(3):  # callers of other nodes, each with its live call there
        call = await make_call(status=CallStatus.IN_PROGRESS.value, owner_node="another-node")
        leg = RoomLeg(HeaderDict(room_auth.signed_headers(SECRET, room.conference.sid, call.sid, RoomOptions())),
                      room.conference.sid)
        await legs.accept(leg)
        seated.append(leg)
    await eventually(lambda: len(room.members) == 4 and all(m.participant for m in room.members.values()))
    assert not any(leg.rejected for leg in seated)

    async with asyncio.timeout(4 * WITHIN_S):
        await engine.shutdown(within=WITHIN_S)
        assert await staying == "ended"
    endpoint.close()

    # Every caller's node reads "completed" after the BYE: the room ended (not "removed" from a live room).
    assert [leg.status_at_bye for leg in seated] == [["completed"]] * 3
    assert legs.seated == 0

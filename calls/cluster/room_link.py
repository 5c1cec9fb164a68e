"""The caller's side of a room leg: a caller of this node joins a room another node runs.

The database holds one live room per account and name (migration 0016), run by the node that opened it.
A caller whose `<Dial><Conference>` runs here while the room runs elsewhere gets an internal SIP leg from
this node to the room's node (signed with the cluster secret, calls/cluster/room_auth.py), which seats the
leg in its room as this caller (calls/cluster/room_leg.py); this node bridges the caller's RTP to the leg's,
so the caller hears the room's mix and the room hears the caller, as any participant.

Why a leg and not moving the call (a REFER to the room's node, as jambonz does): the caller's phone or
carrier would have to follow the REFER, which many do not, and the call's owner, its row, its callbacks and
its RCML (the Dial's action after the room) would have to move too. A leg keeps the call where it is, at the
price of one more RTP hop through this node and one more RTP port on each side.

How the seat ends:
- the caller hangs up, or its <Dial> is cancelled (redirect): BYE on the leg, the participant leaves there;
- the room's node sends BYE (removed through the API, or the room ended): the room's row says which, as
  that node writes completed before its BYE;
- the room's node dies: no BYE comes, so the room's row is watched; a survivor closes the rooms of a dead
  node (calls/cluster/reaper.py) and the caller leaves as from a room that ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from calls.cluster import room_auth
from calls.rooms import RemoteRoom, RoomEnded, RoomFull
from calls.types import RoomNotLive
from models import Conference, ConferenceStatus
from models.node import Node
from rcml.call_control import RoomOptions
from sip.events import Answered, Ended, Failed, LegEvent
from sip.legs import OutboundInvite
from sip.media.bridge import Bridge
from sip.media_factory import MediaFactory
from sip.stack import SipStack

log = logging.getLogger(__name__)

# From the INVITE to its answer: the room's node answers at once, or it is not there (Timer B is 32 s).
SETUP_S = 5.0
# How often a seated caller checks the room's row (its node may have died, sending no BYE).
WATCH_S = 2.0

LiveNode = Callable[[str], Awaitable[Node | None]]
ChangeParticipant = Callable[..., Awaitable[bool]]


class RoomNodeUnreachable(Exception):
    """The room's node is dead, unknown, or did not take the leg: the room may be about to close."""


class RoomLinks:
    def __init__(self, stack: SipStack, media: MediaFactory, secret: str, live_node: LiveNode,
                 change_participant: ChangeParticipant) -> None:
        self.stack = stack
        self.media = media
        self.secret = secret
        self._live_node = live_node
        self.change_participant = change_participant
        # This node's callers in other nodes' rooms now (GET /metrics).
        self.joined = 0

    async def attend(self, call_sid: str, caller_media: Any, options: RoomOptions,
                     room: RemoteRoom) -> Literal["removed", "ended"]:
        """Until the caller leaves the room (as ConferenceRoom.attend): "removed" or "ended"; cancelled on
        hang-up. RoomEnded (the room ended meanwhile: look it up again), RoomFull, RoomNodeUnreachable."""
        conference = room.conference
        node = await self._live_node(room.node)
        if node is None or not node.sip_address:
            raise RoomNodeUnreachable(f"the node {room.node} that runs conference {conference.sid} is not live")
        host, _, port = node.sip_address.rpartition(":")
        events: asyncio.Queue[LegEvent] = asyncio.Queue()
        endpoint = await self.media.open()
        leg = None
        bridge: Bridge | None = None
        self.joined += 1
        try:
            uri = f"sip:room@{node.sip_address}"
            invite = OutboundInvite(
                request_uri=uri, to_uri=uri, from_user=call_sid, from_display=None,
                sdp_offer=self.media.offer(endpoint), next_hop=(host, int(port)),
                headers=room_auth.signed_headers(self.secret, conference.sid, call_sid, options))
            leg = await self.stack.invite(invite, events.put_nowait)
            answered = await self._answer(events, conference, node)
            if answered.sdp:
                self.media.connect(endpoint, answered.sdp)
            bridge = Bridge(caller_media, endpoint)
            bridge.start()
            log.info("call %s joined conference %s on node %s over a room leg", call_sid, conference.sid, node.id)
            return await self._until_left(events, conference)
        finally:
            # Nothing here waits before the endpoint is closed: a second cancellation cannot leave it open.
            self.joined -= 1
            if bridge is not None:
                bridge.stop()
            endpoint.close()
            if leg is not None:
                await leg.hangup()

    @staticmethod
    async def _answer(events: asyncio.Queue[LegEvent], conference: Conference, node: Node) -> Answered:
        try:
            async with asyncio.timeout(SETUP_S):
                while True:
                    event = await events.get()
                    if isinstance(event, Answered):
                        return event
                    if isinstance(event, Failed):
                        if event.code == 404:
                            raise RoomEnded(conference.sid)
                        if event.code == 486:
                            raise RoomFull(f"conference {conference.friendly_name} is full")
                        raise RoomNodeUnreachable(f"node {node.id} answered the room leg with {event.code} "
                                                  f"{event.reason}")
                    if isinstance(event, Ended):
                        raise RoomNodeUnreachable(f"node {node.id} ended the room leg before answering it")
        except TimeoutError:
            raise RoomNodeUnreachable(f"node {node.id} did not answer the room leg within {SETUP_S:.0f} s") from None

    @staticmethod
    async def _until_left(events: asyncio.Queue[LegEvent], conference: Conference) -> Literal["removed", "ended"]:
        while True:
            try:
                async with asyncio.timeout(WATCH_S):
                    event = await events.get()
            except TimeoutError:
                if not await _room_is_live(conference.sid):
                    log.warning("conference %s ended without a BYE on its room leg (its node died?)", conference.sid)
                    return "ended"
                continue
            if isinstance(event, Ended | Failed):
                return "removed" if await _room_is_live(conference.sid) else "ended"


async def _room_is_live(conference_sid: str) -> bool:
    return await Conference.exists(sid=conference_sid, status__not=ConferenceStatus.COMPLETED.value)


class RemoteSeat:
    """A caller's place in another node's room as its connection (calls/owner.py): Mute on the call mutes
    it in that room (through the room's node, as the participants API does)."""

    def __init__(self, links: RoomLinks, conference: Conference, call_sid: str) -> None:
        self.links = links
        self.conference = conference
        self.call_sid = call_sid

    async def set_muted(self, owner: object, muted: bool) -> None:
        with contextlib.suppress(RoomNotLive):
            await self.links.change_participant(self.conference, self.call_sid, mute=muted)

    def partner_of(self, owner: object) -> None:
        return None

    def release(self, owner: object) -> None:
        pass

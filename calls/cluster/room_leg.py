"""The room's side of a room leg: a caller of another node, seated in a room this node runs, over SIP.

The caller's node sends a signed INVITE (calls/cluster/room_auth.py); this node answers it with an RTP
endpoint of its own and seats that endpoint in the room as the participant, under the caller's call SID
(the Participant row, mute and remove through the API work as for a local caller). Everything the room does
to the participant reaches the caller through the leg's audio; its end through the leg's BYE:
- removed through the API, or the room ended: BYE from here (after the room's row says completed, so the
  caller's node, which reads it to tell the two apart, finds it so);
- the caller hung up (or was redirected): BYE from the caller's node, and the participant leaves;
- the caller's node died: no BYE ever comes, so the caller's call row is watched; once a survivor has closed
  it (calls/cluster/reaper.py) the participant leaves.
No Call row is made for the leg: it is not a call of the account, only the caller's way into the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from calls import call_rows
from calls.cluster import room_auth
from calls.rooms import ConferenceRoom, RoomEnded, RoomFull, Rooms
from models import Call
from rcml.call_control import RoomOptions
from sip.events import Confirmed, Ended, LegEvent
from sip.legs import InboundLeg
from sip.media import PortPoolExhausted
from sip.media_factory import MediaFactory
from sip.sdp import SdpError

log = logging.getLogger(__name__)

# How often a seated leg checks that the caller's call is still live (its node may have died, sending no BYE).
WATCH_S = 2.0
# How long a BYE for "the room ended" waits for the room's completed status to be written first.
CLOSE_WAIT_S = 5.0


class RoomLegs:
    def __init__(self, rooms: Rooms, media: MediaFactory, secret: str, beep: Any) -> None:
        self.rooms = rooms
        self.media = media
        self.secret = secret
        self.beep = beep
        self._seated: set[asyncio.Task] = set()

    @property
    def seated(self) -> int:
        """Room legs seated here now (each a caller of another node)."""
        return len(self._seated)

    async def accept(self, leg: InboundLeg) -> None:
        """Answers a room leg's INVITE and seats it, or refuses it (403 unsigned, 404 no such live room here,
        486 full, 503 no RTP port, 488 no common codec)."""
        try:
            claim = room_auth.verify(self.secret, leg.headers)
        except room_auth.BadClaim as exc:
            log.warning("room leg from %s:%s refused: %s", *leg.source, exc)
            await leg.reject(403, "Forbidden")
            return
        room = self.rooms.by_sid(claim.conference_sid)
        if room is None or room.ended.is_set():
            await leg.reject(404, "Not Found")
            return
        if claim.call_sid in room.members or not await self._caller_is_live(claim.call_sid, room):
            log.warning("room leg for %s refused: not a live call of the room's account, or in the room already",
                        claim.call_sid)
            await leg.reject(403, "Forbidden")
            return
        if len(room.members) >= claim.options.max_participants:
            await leg.reject(486, "Busy Here")
            return
        try:
            endpoint = await self.media.open()
        except PortPoolExhausted:
            await leg.reject(503, "Service Unavailable")
            return
        try:
            answer = self.media.answer(endpoint, leg.sdp_offer)
        except SdpError:
            endpoint.close()
            await leg.reject(488, "Not Acceptable Here")
            return
        # As for any caller: no audio goes to the offer's address before the ACK comes from it.
        endpoint.hold_until_confirmed()
        # The leg's end is a message to the seat, not a cancellation of it: its own BYE's end arrives while it
        # is on its way out, and a second cancellation there would leave the endpoint open.
        hung_up = asyncio.Event()

        def on_event(event: LegEvent) -> None:
            if isinstance(event, Confirmed):
                endpoint.confirm()
            elif isinstance(event, Ended):
                hung_up.set()  # the caller's side hung up: the participant leaves

        leg.set_event_sink(on_event)
        task = asyncio.get_running_loop().create_task(
            self._seat(leg, answer, endpoint, room, claim.call_sid, claim.options, hung_up))
        self._seated.add(task)
        task.add_done_callback(self._seated.discard)

    @staticmethod
    async def _caller_is_live(call_sid: str, room: ConferenceRoom) -> bool:
        call = await Call.get_or_none(sid=call_sid)
        return call is not None and call.is_live and call.account_sid == room.conference.account_sid

    async def _seat(self, leg: InboundLeg, answer: str, endpoint: Any, room: ConferenceRoom, call_sid: str,
                    options: RoomOptions, hung_up: asyncio.Event) -> None:
        attend: asyncio.Future | None = None
        others = {asyncio.ensure_future(self._until_caller_ends(call_sid)), asyncio.ensure_future(hung_up.wait())}
        try:
            await leg.answer(answer)
            attend = asyncio.ensure_future(room.attend(call_sid, endpoint, options, self.beep))
            await asyncio.wait({attend, *others}, return_when=asyncio.FIRST_COMPLETED)
            if attend.done() and not attend.cancelled() and attend.exception() is None and attend.result() == "ended":
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(CLOSE_WAIT_S):
                        await room.closed.wait()
        finally:
            for other in others:
                other.cancel()
            try:
                if attend is not None:
                    attend.cancel()  # nothing when it is over; else its way out (the row, the room's end) runs
                    with contextlib.suppress(asyncio.CancelledError, RoomEnded, RoomFull):
                        await attend
            finally:
                endpoint.close()
                await leg.hangup()

    @staticmethod
    async def _until_caller_ends(call_sid: str) -> None:
        while True:
            await asyncio.sleep(WATCH_S)
            if not await call_rows.still_live([call_sid]):
                log.warning("room leg of %s: the call ended on its node without a BYE; it leaves the room", call_sid)
                return

    async def close(self, within: float = 5.0) -> None:
        """Ends every seated leg (BYE): this node stops. Its rooms have ended first (calls/engine.py), so each
        seat leaves as from a room that ended, its BYE after the room's completed row; one still seated after
        `within` (its room did not end) is cancelled, with a BYE all the same."""
        tasks = list(self._seated)
        if not tasks:
            return
        _, left = await asyncio.wait(tasks, timeout=within)
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left, timeout=within)

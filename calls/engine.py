"""The call engine: creates calls, makes the owner of each live one, and routes SIP and API work to owners.

Handlers call `create_call` and `modify_call`; the SIP stack calls `on_invite` and `on_register`. The engine
keeps the registry of live owners on this node (call SID -> owner) and is the one factory of owners; the
owners get `Services`, never the engine. Without a SIP stack (SIP disabled with port 0) a created call is
stored `queued` and nothing pretends it progressed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging

from calls import call_rows
from calls.admission import Admission
from calls.background import BackgroundTasks
from calls.callbacks import CallbackSender
from calls.cluster.forward import APPLIED, NOT_HERE, NOT_LIVE, Forwarder, Outcome, OwnerUnreachable, call_from_json
from calls.cluster.lease import NodeAddress, NodeLease
from calls.cluster.member import ClusterMember
from calls.cluster.reaper import Reaper, close_abandoned
from calls.cluster.room_auth import is_room_leg
from calls.cluster.room_leg import RoomLegs
from calls.cluster.room_link import RoomLinks
from calls.dialled_leg import DialledLegOwner, Report
from calls.inbound import RETRY_AFTER_S, InboundOwner
from calls.limits import Limits
from calls.outbound import OutboundOwner
from calls.owner import CallOwner
from calls.owner_control import OwnerControl
from calls.recordings import RecordingStore
from calls.registrar import ClientRegistrar
from calls.rooms import ConferenceRoom, Rooms
from calls.routing import InboundRoute, Routes
from calls.services import Services
from calls.sip_messages import SipMessageLog
from calls.types import (
    CallChange,
    CallEnded,
    CallLimits,
    CallNotLive,
    CallRequest,
    Hold,
    OutboundProxy,
    RoomNotLive,
    TooManyCalls,
    UnknownClient,
)
from models import Call, CallStatus, Client, Conference, ConferenceStatus, Direction, clock
from models import node as nodes
from models.account import Account, in_force
from rcml.audio import AudioLibrary
from rcml.documents import DocumentFetcher
from rcml.event_log import EventLog
from rcml.session import Source
from rcml.verbs.conference import room_audio
from sip.destination import DestinationKind, caller_display, parse_sip_uri
from sip.legs import InboundLeg
from sip.media.prompt import Prompt
from sip.media_factory import MediaFactory
from sip.registration import NatMode, RegisterRequest, RegisterResponse
from sip.stack import SipStack
from telemetry import call_events

log = logging.getLogger(__name__)

NO_LIMITS = CallLimits()


class CallEngine:
    def __init__(self, *, node: str, base_url: str, fetcher: DocumentFetcher, callbacks: CallbackSender,
                 audio: AudioLibrary, recordings: RecordingStore, stack: SipStack | None = None,
                 media: MediaFactory | None = None, registrar: ClientRegistrar | None = None,
                 outbound_proxy: OutboundProxy | None = None, internal_url: str = "",
                 lease_seconds: float = 6.0, limits: Limits | None = None, cluster_secret: str = "",
                 events: EventLog | None = None, sip_nat: NatMode = NatMode.AUTO,
                 sip_messages: SipMessageLog | None = None) -> None:
        """`stack`, `media` and `registrar` are None when SIP is off; the stack is started by the caller."""
        self.node = node
        self.callbacks = callbacks
        # Call Events, written behind; None where nothing records them (the engine's unit tests).
        self.events = events
        self.sip_messages = sip_messages
        self.recordings = recordings
        self.rooms = Rooms(node)
        self.registrar = registrar
        self.stack = stack
        self.owners: dict[str, CallOwner] = {}
        # Inbound calls admitted whose row is being written (account SID, number SID): not owners yet.
        self._admitting: list[tuple[str, str | None]] = []
        self.admission = Admission()
        # Set once `drain` starts: GET /ready answers 503 from then on.
        self.draining = False

        def address() -> NodeAddress:
            return NodeAddress("" if stack is None else "{}:{}".format(*stack.address), internal_url)

        # Without a shared secret this node cannot reach the others: changes to their calls are refused.
        self.forwarder = Forwarder(cluster_secret) if cluster_secret else None
        self._node_cache: dict[str, tuple[nodes.Node, float]] = {}
        self.cluster = ClusterMember(NodeLease(node, address, seconds=lease_seconds, on_lost=self._lease_lost),
                                     Reaper(node, callbacks))
        self._background = BackgroundTasks()
        # Rooms across nodes (calls/cluster/room_link.py): callers here joined to other nodes' rooms, and
        # other nodes' callers seated in the rooms here; both need SIP and the cluster secret.
        self.room_links = self.room_legs = None
        if stack is not None and media is not None and cluster_secret:
            self.room_links = RoomLinks(stack, media, cluster_secret, self._live_node, self.change_participant)
            self.room_legs = RoomLegs(self.rooms, media, cluster_secret, audio.beep)
        self.services = Services(
            base_url=base_url, fetcher=fetcher, callbacks=callbacks, audio=audio, recordings=recordings,
            rooms=self.rooms, background=self._background, stack=stack, media=media,
            routes=Routes(outbound_proxy=outbound_proxy, sip_address=lambda: stack.address, nat=sip_nat),
            limits=limits or Limits(), sip_messages=sip_messages, room_links=self.room_links,
        )

    # --- the API side -----------------------------------------------------------------------------------------

    async def create_call(self, account_sid: str, request: CallRequest, limits: CallLimits = NO_LIMITS) -> Call:
        """Raises UnknownClient, and TooManyCalls when the account is at its cap (calls/admission.py)."""
        if request.to.kind is DestinationKind.CLIENT and not await Client.exists(
                login=request.to.target, account_sid=account_sid):
            raise UnknownClient(f"client:{request.to.target} is not a client of account {account_sid}")
        async with self.admission.admit(account_sid, limits):
            # The turn to start is taken as the call is created, so calls start in the order they were created.
            turn = self.admission.take_turn(account_sid, limits) if self.stack is not None else None
            try:
                call = await self._placed_call(account_sid, request, Direction.OUTBOUND_API)
            except BaseException:
                if turn is not None:
                    turn.withdraw()  # no call: the next in line must not wait for it
                raise
        if self.stack is not None:
            self._adopt(OutboundOwner(self.services, call, request, turn=turn))
        return call

    async def place_dialled_leg(self, parent: Call, request: CallRequest, report: Report) -> DialledLegOwner:
        """A leg of `parent`'s <Dial>: a call of its own (outbound-dial), placed now."""
        # A leg speaks its parent's dialect: a Twilio application hears Twilio's parameters for its <Dial> too.
        request = dataclasses.replace(request, api_version=parent.api_version)
        call = await self._placed_call(parent.account_sid, request, Direction.OUTBOUND_DIAL,
                                       parent_call_sid=parent.sid)
        owner = DialledLegOwner(self.services, call, request, report)
        self._adopt(owner)
        return owner

    async def _placed_call(self, account_sid: str, request: CallRequest, direction: Direction,
                           parent_call_sid: str | None = None) -> Call:
        return await call_rows.new_call(
            account_sid=account_sid, direction=direction, status=CallStatus.QUEUED,
            to_address=request.to.display, from_address=caller_display(request.from_),
            destination=request.to.target,
            source=Source(request.url, request.method, request.fallback_url, request.fallback_method),
            status_callback=request.status_callback, status_callback_method=request.status_callback_method,
            owner_node=self.node if self.stack is not None else None,
            parent_call_sid=parent_call_sid, sip_headers=request.to.header_text,
            status_callback_event=",".join(request.status_callback_events), timeout=request.timeout,
            api_version=request.api_version,
        )

    async def modify_call(self, call: Call, change: CallChange) -> Call:
        """The change made by the call's owner, wherever it runs; the call as it is after it.

        Another live node's call is changed by that node (calls/cluster/forward.py): no node ever writes the
        live state of a call another node runs.
        """
        owner = self.owners.get(call.sid)
        if owner is None:
            if call.is_live and call.owner_node and call.owner_node != self.node:
                return await self._modify_elsewhere(call, change)
            return await call_rows.modify_unowned(call, change)
        return await self.modify_owned(owner, call, change)

    async def modify_here(self, call_sid: str, change: CallChange) -> Call | None:
        """What another node forwarded: the change made, if this node runs the call (None if it does not).

        Nothing is read back: the owner's call in memory is its row as written (only the owner writes a live
        call, and it has written what was pending), and it goes back to the node that forwarded the change.
        """
        owner = self.owners.get(call_sid)
        if owner is None:
            return None
        await self.modify_owned(owner, owner.call, change, read_back=False)
        return owner.call

    async def _modify_elsewhere(self, call: Call, change: CallChange) -> Call:
        owner_node = call.owner_node
        node = await self._live_node(owner_node)
        if node is None:
            raise CallNotLive(f"The node that runs this call ({owner_node}) is gone; the call is being closed")
        if self.forwarder is None or not node.http_address:
            raise CallNotLive(f"This call runs on node {owner_node}, and this node cannot reach it (set the same "
                              "RESTCOMM_CLUSTER_SECRET on every node)")
        try:
            outcome = await self._forward_change(node, call.sid, change)
        except OwnerUnreachable as exc:
            log.warning("change to %s not forwarded to node %s: %s", call.sid, owner_node, exc)
            raise CallNotLive(f"The node that runs this call ({owner_node}) did not answer; try again") from None
        if outcome.kind == APPLIED and outcome.call is not None:
            try:
                return call_from_json(outcome.call)
            except (ValueError, KeyError, TypeError):
                log.warning("node %s sent back a call row this node does not read; reading it", owner_node)
        await call.refresh_from_db()
        if outcome.kind == NOT_LIVE:
            raise CallNotLive(outcome.message)
        if outcome.kind == NOT_HERE:
            raise CallNotLive(f"Call is not live: it ended as {call.status}" if not call.is_live else
                              f"The node that runs this call ({owner_node}) no longer runs it")
        return call

    async def _forward_change(self, node: nodes.Node, call_sid: str, change: CallChange) -> Outcome:
        """The change sent to `node`; once more when it did not answer and its row now gives another address
        (restarted under the same id before the cached row ran out)."""
        assert self.forwarder is not None
        try:
            return await self.forwarder.change_call(node.http_address, call_sid, change)
        except OwnerUnreachable:
            self._node_cache.pop(node.id, None)
            fresh = await self._live_node(node.id)
            if fresh is None or fresh.http_address == node.http_address:
                raise
            return await self.forwarder.change_call(fresh.http_address, call_sid, change)

    async def _live_node(self, node_id: str) -> nodes.Node | None:
        """The node's row while its lease is current, kept as long as the lease it read: a forwarded change
        then costs no lookup of its own. A node that died meanwhile does not answer (the change is refused)."""
        now = asyncio.get_running_loop().time()
        cached = self._node_cache.get(node_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        wall = clock.now()
        node = await nodes.live_node(node_id, wall)
        if node is not None:
            self._node_cache[node_id] = (node, now + (node.lease_expires - wall).total_seconds())
        return node

    async def modify_owned(self, owner: CallOwner, call: Call, change: CallChange, *, read_back: bool = True) -> Call:
        if change.mute is not None and owner.answered_at is None:
            raise CallNotLive(f"Only a call in progress can be muted; this call is {owner.call.status}")
        if change.move_connected_leg and owner.answered_at is None:
            raise CallNotLive(f"Call is {owner.call.status}: it has no connected leg to move")

        async def apply() -> None:
            await owner.apply_change(change)
            await owner.state.write_pending()  # the call is read back from the database below

        try:
            await owner.ask(apply)
        except CallEnded as ended:
            raise CallNotLive(f"Call is not live: it ended as {ended.status}") from None
        if read_back:
            await call.refresh_from_db()
        return call

    # --- conference participants, in the room's node ---------------------------------------------------------

    async def change_participant(self, conference: Conference, call_sid: str, *, mute: bool | None = None,
                                 remove: bool = False) -> bool:
        """Mutes or removes a participant where its room runs, here or on another node; False when the call
        is not in the room (it left meanwhile). RoomNotLive when no reachable node runs the room."""
        room = self.rooms.by_sid(conference.sid)
        if room is not None:
            return await _change_in_room(room, call_sid, mute, remove)
        owner_node = conference.owner_node
        if conference.status == ConferenceStatus.COMPLETED.value or not owner_node or owner_node == self.node:
            raise RoomNotLive(f"Conference {conference.sid} is not live (it is {conference.status})")
        node = await self._live_node(owner_node)
        if node is None or self.forwarder is None or not node.http_address:
            raise RoomNotLive(f"Conference {conference.sid} runs on node {owner_node}, which this node cannot "
                              "reach (gone, or no RESTCOMM_CLUSTER_SECRET)")
        try:
            outcome = await self.forwarder.change_participant(node.http_address, conference.sid, call_sid,
                                                              mute=mute, remove=remove)
        except OwnerUnreachable as exc:
            log.warning("participant change in %s not forwarded to node %s: %s", conference.sid, owner_node, exc)
            raise RoomNotLive(f"The node that runs conference {conference.sid} ({owner_node}) did not answer; "
                              "try again") from None
        if outcome.kind == NOT_LIVE:
            raise RoomNotLive(outcome.message)
        return outcome.kind == APPLIED

    def hold_participant(self, conference: Conference, call_sid: str, hold: Hold) -> bool:
        """Puts a participant on hold or back, in a room this node runs; False when the call is not in it.
        RoomNotLive when the room is not live here: hold is not carried to another node (yet)."""
        room = self.rooms.by_sid(conference.sid)
        owner = self.owners.get(call_sid)
        if room is None:
            raise RoomNotLive(f"Conference {conference.sid} is not live on this node ({self.node}): hold is only "
                              "applied by the node that runs the room")
        # A caller seated here over an internal leg has its owner on its own node: it is held here all the same,
        # hearing silence (its HoldUrl would be fetched for a call this node does not own).
        control = OwnerControl(owner, self.place_dialled_leg) if owner is not None else None

        async def music() -> tuple[Prompt, ...]:
            # Audio, or a document whose <Play>/<Say> are played, as <Conference waitUrl> takes it.
            return await room_audio(control, hold.url, hold.method) if hold.url and control is not None else ()

        return room.set_hold(call_sid, hold.held, music)

    def is_held(self, conference_sid: str, call_sid: str) -> bool:
        """Whether a participant is on hold, as this node knows it (only the room's node knows)."""
        room = self.rooms.by_sid(conference_sid)
        member = room.members.get(call_sid) if room is not None else None
        return member is not None and member.held

    async def change_participant_here(self, conference_sid: str, call_sid: str, *, mute: bool | None = None,
                                      remove: bool = False) -> bool:
        """What another node forwarded; RoomNotLive when this node does not run the room."""
        room = self.rooms.by_sid(conference_sid)
        if room is None:
            raise RoomNotLive(f"Conference {conference_sid} is not live on node {self.node}")
        return await _change_in_room(room, call_sid, mute, remove)

    # --- owners -------------------------------------------------------------------------------------------------

    def _adopt(self, owner: CallOwner) -> None:
        sid = owner.call.sid
        self.owners[sid] = owner
        owner.run(OwnerControl(owner, self.place_dialled_leg))

        def forget(_task: asyncio.Task) -> None:
            if self.owners.get(sid) is owner:
                del self.owners[sid]
            if self.sip_messages is not None:
                self.sip_messages.release(sid)

        owner.task.add_done_callback(forget)

    # --- the SIP side ---------------------------------------------------------------------------------------------

    async def on_invite(self, leg: InboundLeg) -> None:
        if is_room_leg(leg.headers):
            # Another node's caller joining a room of this node (calls/cluster/room_leg.py): not a call.
            if self.room_legs is None:
                await leg.reject(403, "Forbidden")
            else:
                await self.room_legs.accept(leg)
            return
        route = await Routes.inbound_route(leg.request_user)
        if route is None:
            call_events.event("sip.invite_refused", code=404, to=leg.request_user, peer=_peer(leg.source))
            await leg.reject(404, "Not Found")
            return
        account = await Account.get_or_none(sid=route.account_sid)
        if account is None or not await in_force(account):  # suspended or closed, itself or above it
            call_events.event("sip.invite_refused", code=403, to=leg.request_user, peer=_peer(leg.source))
            await leg.reject(403, "Forbidden")
            return
        full = self._inbound_capacity_reached(route.account_sid, route.phone_number_sid)
        if full:
            # Refused before a row or a fetch exists: one tenant's flood cannot take every port from the others.
            call_events.event("sip.invite_refused", code=503, to=leg.request_user, peer=_peer(leg.source),
                              reason=full)
            await leg.reject(503, "Service Unavailable", retry_after=RETRY_AFTER_S)
            return
        # The place is taken now, before the insert's await: INVITEs arriving meanwhile count it.
        reserved = (route.account_sid, route.phone_number_sid)
        self._admitting.append(reserved)
        # The account's own cap on live calls (MaxConcurrentCalls, on every node) holds for inbound calls too.
        cap = CallLimits(max_concurrent_calls=account.max_concurrent_calls)
        try:
            async with self.admission.admit(account.sid, cap):
                call = await self._inbound_row(route, leg)
        except TooManyCalls as exc:
            call_events.event("sip.invite_refused", code=503, to=leg.request_user, peer=_peer(leg.source),
                              reason=str(exc))
            await leg.reject(503, "Service Unavailable", retry_after=RETRY_AFTER_S)
            return
        finally:
            self._admitting.remove(reserved)
        call_events.event("sip.invite_received", call_sid=call.sid, account_sid=call.account_sid,
                          from_=leg.from_user, to=leg.request_user, peer=_peer(leg.source))
        if self.sip_messages is not None:
            self.sip_messages.follow(leg.call_id, call.account_sid, call.sid)
        header_parameters = {f"SipHeader_{name}": value for name, value in leg.headers.items()
                             if name.lower().startswith("x-")}
        self._adopt(InboundOwner(self.services, call, leg, source=route.source,
                                 callback_url=route.status_callback, callback_method=route.status_callback_method,
                                 sip_header_parameters=header_parameters))

    async def _inbound_row(self, route: InboundRoute, leg: InboundLeg) -> Call:
        return await call_rows.new_call(
            account_sid=route.account_sid, direction=Direction.INBOUND, status=CallStatus.RINGING,
            to_address=leg.request_user, from_address=leg.from_user, destination=leg.request_user,
            source=route.source, status_callback=route.status_callback,
            status_callback_method=route.status_callback_method, owner_node=self.node,
            phone_number_sid=route.phone_number_sid, caller_name=leg.from_display or None,
            api_version=route.api_version,
            forwarded_from=_forwarded_from(leg.headers),
        )

    async def end_calls_below(self, account: Account) -> int:
        """Hangs up this node's live calls of `account` and of every account below it (it was just suspended or
        closed): a call must not outlive its account's right to make calls. Returns how many were told."""
        sids = set(await Account.filter(lineage__startswith=account.lineage).values_list("sid", flat=True))
        ending = [owner for owner in self.owners.values() if owner.call.account_sid in sids]
        for owner in ending:
            owner.post_hangup()
        return len(ending)

    def _inbound_capacity_reached(self, account_sid: str, phone_number_sid: str | None) -> str | None:
        """Why a new inbound call to this account (and number) would pass its limit on this node, or None."""
        limits = self.services.limits
        of_account = of_number = 0
        live = [(owner.call.account_sid, owner.call.phone_number_sid) for owner in self.owners.values()]
        for account, number in live + self._admitting:
            if account == account_sid:
                of_account += 1
                if phone_number_sid is not None and number == phone_number_sid:
                    of_number += 1
        if of_account >= limits.max_calls_per_account:
            return f"the account has {of_account} live calls (RESTCOMM_ACCOUNT_MAX_CALLS)"
        if phone_number_sid is not None and of_number >= limits.max_calls_per_number:
            return f"the number has {of_number} live calls (RESTCOMM_NUMBER_MAX_CALLS)"
        return None

    async def on_register(self, request: RegisterRequest) -> RegisterResponse:
        return await self.registrar.handle(request)

    # --- start and stop ---------------------------------------------------------------------------------------------

    async def recover(self) -> int:
        """Close the calls this node left live when it stopped abruptly: `failed`, with their callbacks."""
        leftovers = await call_rows.left_live(self.node)
        message = "The server stopped while this call was live; it was closed as failed on restart"
        closed = [call for call in leftovers if await close_abandoned(call, self.callbacks, message)]
        await self.rooms.recover()
        return len(closed)

    async def _lease_lost(self) -> None:
        """This node was taken for dead (its lease ran out) and is not: the calls a survivor has closed meanwhile
        are hung up here too, so that no call goes on that its record says has ended. Their final write then
        matches no live row, and no second final callback is sent (calls/owner.py `finish`)."""
        sids = list(self.owners)
        if not sids:
            return
        live = await call_rows.still_live(sids)
        for sid in sids:
            owner = self.owners.get(sid)
            if owner is not None and sid not in live:
                log.warning("call %s was closed by another node while this node's lease had run out: hanging up",
                            sid)
                owner.post_hangup()

    async def drain(self, within: float) -> int:
        """Takes no new calls and lets the live ones finish for up to `within` seconds; how many are left
        (`shutdown` ends them). OPTIONS and new INVITEs get 503 from now on and the lease says draining, so a
        dispatcher in front (and the other nodes) send new calls elsewhere; the API keeps working."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        self.draining = True
        await self.cluster.drain()
        if self.stack is not None:
            await self.stack.set_draining(True)
        log.warning("node %s draining: %d live call(s), up to %.0f s", self.node, len(self.owners), within)
        while self.owners and loop.time() < deadline:  # noqa: ASYNC110 - dialled legs join while it waits
            await asyncio.sleep(0.1)
        return len(self.owners)

    async def shutdown(self, within: float = 5.0) -> None:
        """Hang up every live call (each gets its final status and callback), then stop sending callbacks."""
        owners = list(self.owners.values())
        for owner in owners:
            owner.post_hangup()
        if owners:
            await asyncio.wait([asyncio.ensure_future(o.wait_finished()) for o in owners], timeout=within)
        await self._background.wait(within)
        # The rooms end before their legs go: a caller of another node seated here learns from its leg's BYE
        # that it left, and from the room's row (completed by then) that the room ended rather than that it was
        # removed. A hung-up caller of this node may still be on its way out of a room (its session leaves after
        # its owner has finished), so the last leg leaving would not end the room in time.
        await self.rooms.close_all()
        if self.room_legs is not None:
            await self.room_legs.close(within)
        await self.callbacks.close(within)
        if self.events is not None:
            await self.events.close()
        if self.sip_messages is not None:
            await self.sip_messages.close()
        await self.services.audio.aclose()  # its decoding worker processes
        if self.forwarder is not None:
            await self.forwarder.close()


def _peer(source: tuple[str, int]) -> str:
    """Where an INVITE came from, host:port."""
    return f"{source[0]}:{source[1]}"


async def _change_in_room(room: ConferenceRoom, call_sid: str, mute: bool | None, remove: bool) -> bool:
    if remove:
        return room.remove(call_sid)
    return await room.set_muted(call_sid, bool(mute)) is not None


def _forwarded_from(headers: dict[str, str]) -> str | None:
    diversion = next((value for name, value in headers.items() if name.lower() == "diversion"), None)
    if not diversion:
        return None
    uri = diversion.split("<", 1)[-1].split(">", 1)[0]
    with contextlib.suppress(ValueError):
        return parse_sip_uri(uri.split(";", 1)[0]).user
    return None

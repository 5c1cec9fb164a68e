"""The owner as its RCML sees it: rcml.call_control.CallControl, every request run inside the owner, in turn.

The engine makes one per owner when it starts it. `dial` places the legs of a <Dial> through the engine's
factory (a callable it is given, never the engine) and links them to this call through their inboxes
(calls/dial_attempt.py); `join_room` takes a seat in a conference room of this node (calls/rooms.py), or in
the one another node runs, over a room leg (calls/cluster/room_link.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from calls import notifications
from calls.cluster.room_link import RemoteSeat, RoomNodeUnreachable
from calls.dial_attempt import DialAttempt
from calls.dialled_leg import DialledLegOwner, Report
from calls.owner import CallOwner
from calls.rooms import RemoteRoom, RoomEnded, RoomFull, RoomUnavailable, Seat
from calls.types import API_VERSION, CallEnded, CallRequest
from models import Call, Direction, LogLevel
from rcml.audio import AudioLibrary
from rcml.call_control import DialNoun, DialOptions, DialResult, Media, RecordingFiles, RoomExit, RoomOptions
from rcml.documents import Fetched, FetchFailed

# How long a caller keeps trying to reach a room whose node does not take it (dead, not yet reaped), and how
# often: a dead node's rooms are closed within a few lease periods (RESTCOMM_NODE_LEASE_SECONDS).
JOIN_PATIENCE_S = 20.0
JOIN_RETRY_S = 0.5

PlaceLeg = Callable[[Call, CallRequest, Report], Awaitable[DialledLegOwner]]


class OwnerControl:
    def __init__(self, owner: CallOwner, place_leg: PlaceLeg) -> None:
        self._owner = owner
        self._services = owner.services
        self._place_leg = place_leg

    # --- what the call is ------------------------------------------------------------------------------------

    @property
    def call(self) -> Call:
        return self._owner.call

    @property
    def call_sid(self) -> str:
        return self._owner.call.sid

    @property
    def account_sid(self) -> str:
        return self._owner.call.account_sid

    @property
    def answered(self) -> bool:
        return self._owner.answered_at is not None

    @property
    def inbound(self) -> bool:
        return self._owner.call.direction == Direction.INBOUND

    @property
    def muted(self) -> bool:
        return self._owner.muted

    @property
    def document_url(self) -> str:
        return self._owner.document_url

    def set_document_url(self, url: str) -> None:
        self._owner.document_url = url

    def request_parameters(self) -> dict[str, str]:
        return self._owner.request_parameters()

    # --- the call's lifetime -------------------------------------------------------------------------------------

    async def answer(self) -> None:
        await self._owner.ask(self._owner.answer_call)

    async def reject(self, code: int, reason: str) -> None:
        await self._owner.ask(lambda: self._owner.reject_call(code, reason))

    async def hangup(self) -> None:
        with contextlib.suppress(CallEnded):
            await self._owner.ask(self._owner.hangup_call)

    async def fail(self, reason: str) -> None:
        with contextlib.suppress(CallEnded):
            await self._owner.ask(lambda: self._owner.fail_call(reason))

    # --- audio in and out ------------------------------------------------------------------------------------------

    @property
    def media(self) -> Media | None:
        return self._owner.media if self.answered else None

    @property
    def audio(self) -> AudioLibrary:
        return self._services.audio

    @property
    def recordings(self) -> RecordingFiles:
        return self._services.recordings

    def recording_url(self, recording_sid: str) -> str:
        return (f"{self._services.base_url}/restcomm/{API_VERSION}/Accounts/{self.account_sid}"
                f"/Recordings/{recording_sid}.wav")

    def clear_digits(self) -> None:
        while not self._owner.digits.empty():
            self._owner.digits.get_nowait()

    async def next_digit(self, within: float) -> str | None:
        try:
            async with asyncio.timeout(within):
                return await self._owner.digits.get()
        except TimeoutError:
            return None

    # --- other parties ---------------------------------------------------------------------------------------------

    async def dial(self, nouns: list[DialNoun], options: DialOptions) -> DialResult:
        most = self._services.limits.dial_max_destinations
        if len(nouns) > most:
            # Each destination is an INVITE, a call row and an RTP port: a document must not make hundreds.
            skipped = ", ".join(noun.to.display for noun in nouns[most:most + 5])
            more = f" and {len(nouns) - most - 5} more" if len(nouns) > most + 5 else ""
            await self.warn(13223, f"<Dial> rings at most {most} destinations at once; skipped {len(nouns) - most}: "
                                   f"{skipped}{more}")
            nouns = nouns[:most]
        requests = [CallRequest(from_=options.caller_id, to=noun.to, url="", status_callback=noun.status_callback,
                                status_callback_method=noun.status_callback_method,
                                status_callback_events=noun.status_callback_events, timeout=options.timeout,
                                username=noun.username, password=noun.password,
                                machine_detection=noun.machine_detection, send_digits=noun.send_digits)
                    for noun in nouns]
        attempt = DialAttempt(self._owner, self._services, lambda request, report: self._place_leg(
            self._owner.call, request, report))
        return await attempt.run(requests, time_limit=options.time_limit, hangup_on_star=options.hangup_on_star,
                                 record=options.record, answer_on_bridge=options.answer_on_bridge)

    async def join_room(self, name: str, options: RoomOptions) -> RoomExit:
        owner = self._owner
        loop = asyncio.get_running_loop()
        deadline = loop.time() + JOIN_PATIENCE_S
        while True:
            try:
                room = await self._services.rooms.room(self.account_sid, name)
            except RoomUnavailable as exc:
                return RoomExit("unreachable", "", str(exc))
            if isinstance(room, RemoteRoom):
                links = self._services.room_links
                if links is None:
                    return RoomExit("unreachable", room.conference.sid,
                                    f"conference {name} runs on node {room.node}, which this node cannot reach "
                                    "(set the same RESTCOMM_CLUSTER_SECRET on every node)")
                seat: Seat | RemoteSeat = RemoteSeat(links, room.conference, self.call_sid)
            else:
                seat = Seat(room, self.call_sid)
            owner.connect(seat)
            try:
                if isinstance(room, RemoteRoom):
                    how = await links.attend(self.call_sid, owner.media, options, room)
                else:
                    how = await room.attend(self.call_sid, owner.media, options, self.audio.beep)
            except RoomEnded:
                continue  # its last participant left as this one arrived; the next lookup opens a new room
            except RoomFull as exc:
                return RoomExit("full", room.conference.sid, str(exc))
            except RoomNodeUnreachable as exc:
                # Its node died or is stopping: a survivor closes the room soon, and the next lookup opens one.
                if loop.time() > deadline:
                    return RoomExit("unreachable", room.conference.sid, str(exc))
                await asyncio.sleep(JOIN_RETRY_S)
                continue
            finally:
                owner.disconnect(seat)
            return RoomExit(how, room.conference.sid)

    # --- the application ---------------------------------------------------------------------------------------------

    async def fetch(self, url: str, method: str, parameters: dict[str, str]) -> Fetched:
        owner = self._owner
        if owner.state.has_unwritten:
            # The application is told the call's status now and may read the call back through the API
            # while it answers: what it reads must not be older. Written by the owner, after any write of
            # its own in flight; a call that ended meanwhile has had everything written with its end.
            with contextlib.suppress(CallEnded):
                await owner.ask(owner.state.write_pending)
        return await self._services.fetcher.fetch(url, method, parameters)

    async def fetch_document(self, url: str, method: str) -> Fetched:
        return await self.fetch(url, method, self.request_parameters())

    async def report(self, url: str, method: str, parameters: dict[str, str]) -> None:
        try:
            await self.fetch(url, method, {**self.request_parameters(), **parameters})
        except FetchFailed as failure:
            await self.report_fetch_failure(failure)

    def background(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        self._services.background.spawn(coroutine)

    # --- what went wrong, as Notifications -------------------------------------------------------------------------

    async def warn(self, code: int, message: str) -> None:
        await self._owner.notify(code, message, LogLevel.WARNING)

    async def error(self, code: int, message: str) -> None:
        await self._owner.notify(code, message, LogLevel.ERROR)

    async def report_fetch_failure(self, failure: FetchFailed) -> None:
        await notifications.record_fetch_failure(self.account_sid, self.call_sid, failure)

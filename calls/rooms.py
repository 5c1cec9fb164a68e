"""Conference rooms: calls that `<Dial><Conference>` the same name (per account) hear each other.

A room lives on the node its first caller is on (its row names that owner node; the database holds at most
one live room per account and name, see migration 0016), with a Mixer that sends each participant the sum of the
others. Until a participant with startConferenceOnEnter joins, the room waits: nobody hears anybody, and
each waiting participant hears the waitUrl's audio. A participant with endConferenceOnExit ends the room
when it leaves; so does the last one leaving. The rows (Conference, Participant) mirror this for the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tortoise.exceptions import IntegrityError

from models import Conference, ConferenceStatus, Participant, clock, sids
from rcml.call_control import RoomOptions
from sip.media.mixer import Mixer
from sip.media.prompt import Prompt

log = logging.getLogger(__name__)


@dataclass
class Member:
    call_sid: str
    endpoint: Any
    options: RoomOptions
    muted: bool
    participant: Any = None
    # The mixer's handle on this member (its muted flag decides whether the others hear it).
    mix: Any = None
    # Set when the API removes the participant: its <Dial> ends and its document goes on.
    removed: asyncio.Event = field(default_factory=asyncio.Event)
    # On hold (the API's Hold=true): out of the mixer, hearing only its hold music (calls/hold.py).
    held: bool = False
    hold_music: asyncio.Task | None = None


class RoomFull(Exception):
    pass


class RoomEnded(Exception):
    """The room ended between finding it and joining it: the caller starts a new one."""


class ConferenceRoom:
    def __init__(self, rooms: Rooms, conference: Conference) -> None:
        self.rooms = rooms
        self.conference = conference
        self.mixer = Mixer()
        self.members: dict[str, Member] = {}
        self.ended = asyncio.Event()
        # Set once the row says completed too: what a room leg's node reads after its BYE (calls/cluster).
        self.closed = asyncio.Event()
        self._waiting_music: dict[str, asyncio.Task] = {}

    @property
    def started(self) -> bool:
        return self.conference.status == ConferenceStatus.IN_PROGRESS

    async def attend(self, call_sid: str, endpoint: Any, options: RoomOptions,
                     beep: Any) -> Literal["removed", "ended"]:
        """Until the call leaves: "removed" (by the API), "ended" (the room ended); cancelled on hang-up."""
        if self.ended.is_set():
            raise RoomEnded(self.conference.sid)
        if len(self.members) >= options.max_participants:
            raise RoomFull(f"conference {self.conference.friendly_name} is full ({options.max_participants})")
        # In the room (and in the mixer, unheard until the room starts) before the first await, so that a
        # caller starting the room meanwhile finds every member complete.
        member = Member(call_sid, endpoint, options, options.muted, mix=self.mixer.add(endpoint, muted=True))
        self.members[call_sid] = member
        try:
            now = clock.now()
            member.participant = await Participant.create(
                sid=call_sid, conference_sid=self.conference.sid, account_sid=self.conference.account_sid,
                muted=options.muted, start_conference_on_enter=options.start_conference_on_enter,
                end_conference_on_exit=options.end_conference_on_exit, date_created=now, date_updated=now)
            if options.start_conference_on_enter and not self.started:
                await self._start()
            elif self.started:
                self._unmute_if_allowed(member)
            else:
                self._play_while_waiting(member)
            if options.beep and beep is not None:
                self.mixer.play(beep)
            removed = asyncio.ensure_future(member.removed.wait())
            ended = asyncio.ensure_future(self.ended.wait())
            try:
                done, _ = await asyncio.wait({removed, ended}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                removed.cancel()
                ended.cancel()
            return "removed" if removed in done else "ended"
        finally:
            await self._leave(member, beep)

    async def set_muted(self, call_sid: str, muted: bool) -> Participant | None:
        member = self.members.get(call_sid)
        if member is None or member.participant is None:  # not in the room, or its row not written yet
            return None
        member.muted = muted
        if self.started and not member.held:
            member.mix.muted = muted
        member.participant.muted = muted
        member.participant.date_updated = clock.now()
        await member.participant.save(update_fields=["muted", "date_updated"])
        return member.participant

    def set_hold(self, call_sid: str, held: bool, music: Callable[[], Awaitable[tuple[Prompt, ...]]]) -> bool:
        """Hold: the call leaves the mix (the room does not hear it, it does not hear the room) and hears what
        `music` gives, looped, or silence; unhold puts it back as it was. False when the call is not in it."""
        member = self.members.get(call_sid)
        if member is None or member.participant is None:
            return False
        self._stop_hold_music(member)
        if held:
            if not member.held:
                self._stop_waiting_music(member)
                self.mixer.remove(member.endpoint)
            member.hold_music = asyncio.ensure_future(_loop_hold_music(member.endpoint, music))
        elif member.held:
            member.held = False
            member.mix = self.mixer.add(member.endpoint, muted=True)
            if self.started:
                self._unmute_if_allowed(member)
            else:
                self._play_while_waiting(member)
        member.held = held
        return True

    def _stop_hold_music(self, member: Member) -> None:
        if member.hold_music is not None:
            member.hold_music.cancel()
            member.hold_music = None

    def remove(self, call_sid: str) -> bool:
        member = self.members.get(call_sid)
        if member is None:
            return False
        member.removed.set()
        return True

    async def _start(self) -> None:
        await self._set_status(ConferenceStatus.IN_PROGRESS)
        for member in self.members.values():
            if not member.held:
                self._stop_waiting_music(member)
            self._unmute_if_allowed(member)

    def _unmute_if_allowed(self, member: Member) -> None:
        if not member.held:  # a held call is out of the mix until unheld
            member.mix.muted = member.muted

    def _play_while_waiting(self, member: Member) -> None:
        if not member.options.wait_audio:
            return

        async def loop() -> None:
            while True:
                for prompt in member.options.wait_audio:
                    await self.mixer.play_to(member.endpoint, prompt)

        self._waiting_music[member.call_sid] = asyncio.ensure_future(loop())

    def _stop_waiting_music(self, member: Member) -> None:
        task = self._waiting_music.pop(member.call_sid, None)
        if task is not None:
            task.cancel()

    async def _leave(self, member: Member, beep: Any) -> None:
        self._stop_waiting_music(member)
        self._stop_hold_music(member)
        self.members.pop(member.call_sid, None)
        self.mixer.remove(member.endpoint)
        with contextlib.suppress(Exception):
            await Participant.filter(sid=member.call_sid).delete()
        if member.options.end_conference_on_exit or not self.members:
            await self.end()
        elif member.options.beep and beep is not None:
            self.mixer.play(beep)

    async def end(self) -> None:
        if self.ended.is_set():
            return
        self.ended.set()
        self.rooms.forget(self)
        self.mixer.close()
        try:
            await self._set_status(ConferenceStatus.COMPLETED)
        finally:
            self.closed.set()

    async def _set_status(self, status: ConferenceStatus) -> None:
        self.conference.status = status.value
        self.conference.date_updated = clock.now()
        await self.conference.save(update_fields=["status", "date_updated"])


# One second of silence (8 kHz PCM16): what a held call hears without music, and while its music is fetched.
# Sent as RTP, not left out: the phone keeps hearing a live line (and records the hold as the gap it is).
_HOLD_SILENCE = bytes(16000)


async def _loop_hold_music(endpoint: Any, music: Callable[[], Awaitable[tuple[Prompt, ...]]]) -> None:
    """Plays the hold music on the call's own line, again and again; silence while it loads, or without it."""
    async def silence() -> None:
        while not endpoint.closed:
            await endpoint.play(_HOLD_SILENCE)

    quiet = asyncio.ensure_future(silence())
    try:
        prompts = await music()
    finally:
        quiet.cancel()
    if not prompts:
        await silence()
    while prompts and not endpoint.closed:
        for prompt in prompts:
            await endpoint.play(prompt)


class Seat:
    """A call's place in a room as its connection (calls/owner.py): Mute on the call mutes it in the room.

    Nothing moves with it (MoveConnectedCallLeg has no partner in a conference), and a redirect needs nothing
    from the room: the call's <Dial> is cancelled and leaves the room on its way out.
    """

    def __init__(self, room: ConferenceRoom, call_sid: str) -> None:
        self.room = room
        self.call_sid = call_sid

    async def set_muted(self, owner: object, muted: bool) -> None:
        await self.room.set_muted(self.call_sid, muted)

    def partner_of(self, owner: object) -> None:
        return None

    def release(self, owner: object) -> None:
        pass


@dataclass(frozen=True)
class RemoteRoom:
    """The live room of that name runs on another node: a caller here joins it there (calls/cluster/room_link.py)."""

    conference: Conference

    @property
    def node(self) -> str:
        return self.conference.owner_node or ""


# How long a caller waits for a room whose row is live but whose node is not known to run it (it is ending, or
# its dead node's rooms are about to be closed by a survivor) before it gives up: a few node leases.
SETTLE_S = 20.0
SETTLE_STEP_S = 0.2


class RoomUnavailable(Exception):
    """The room's row stayed live without a node to run it (see SETTLE_S)."""


class Rooms:
    """The live rooms of this node, by (account, name) and by conference SID."""

    def __init__(self, node: str) -> None:
        self.node = node
        self._by_name: dict[tuple[str, str], ConferenceRoom] = {}
        self._lock = asyncio.Lock()

    async def room(self, account_sid: str, name: str) -> ConferenceRoom | RemoteRoom:
        """This node's room of that name, opened if no node runs one; another node's, as a RemoteRoom.

        Two nodes opening the same room at once both insert its row: the unique index on live rooms lets one
        insert through, and the other finds the winner's row and joins that room.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_S
        async with self._lock:  # two callers joining a new room at once must find the same one
            while True:
                room = self._by_name.get((account_sid, name))
                if room is not None:
                    return room
                conference = await self._open(account_sid, name)
                if conference is not None:
                    room = ConferenceRoom(self, conference)
                    self._by_name[(account_sid, name)] = room
                    return room
                existing = await Conference.filter(account_sid=account_sid, friendly_name=name,
                                                   status__not=ConferenceStatus.COMPLETED.value).first()
                if existing is not None and existing.owner_node and existing.owner_node != self.node:
                    return RemoteRoom(existing)
                # It ended between the insert and the read (try again at once), or it is a room of this node
                # that is ending (forgotten here, its row not yet completed), or it names no node.
                if loop.time() > deadline:
                    raise RoomUnavailable(f"conference {name} is open in the database but no node runs it")
                if existing is not None:
                    await asyncio.sleep(SETTLE_STEP_S)

    async def _open(self, account_sid: str, name: str) -> Conference | None:
        """The new room's row; None when a live room of that name exists already (on any node)."""
        now = clock.now()
        try:
            return await Conference.create(
                sid=sids.new_sid(sids.CONFERENCE), account_sid=account_sid, friendly_name=name,
                status=ConferenceStatus.INIT.value, date_created=now, date_updated=now, owner_node=self.node)
        except IntegrityError:
            return None

    def live(self) -> list[ConferenceRoom]:
        """The rooms open on this node now."""
        return list(self._by_name.values())

    def by_sid(self, conference_sid: str) -> ConferenceRoom | None:
        return next((room for room in self._by_name.values() if room.conference.sid == conference_sid), None)

    def forget(self, room: ConferenceRoom) -> None:
        key = (room.conference.account_sid, room.conference.friendly_name)
        if self._by_name.get(key) is room:
            del self._by_name[key]

    async def recover(self) -> None:
        """Rooms this node left open when it stopped abruptly are over, and nobody is in them."""
        await close_rooms_of(self.node)

    async def close_all(self) -> None:
        for room in list(self._by_name.values()):
            await room.end()


async def close_rooms_of(node: str) -> int:
    """The rooms `node` left open (it stopped abruptly, or died) are over and empty; how many there were.

    Only for a node that runs no more: this node's leftovers at start, a dead node's for a survivor.
    """
    left_open = await Conference.filter(owner_node=node, status__not=ConferenceStatus.COMPLETED.value
                                        ).values_list("sid", flat=True)
    if left_open:
        await Participant.filter(conference_sid__in=left_open).delete()
        await Conference.filter(sid__in=left_open).update(status=ConferenceStatus.COMPLETED.value,
                                                           date_updated=clock.now())
    return len(left_open)

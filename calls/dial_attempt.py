"""One <Dial> to one or more destinations: ring them all, connect the first to answer, until one side ends.

The legs are calls of their own, each with its owner (calls/dialled_leg.py); this module only links them to
the calling call, and only through their inboxes: it asks legs to hang up, and to join or leave the bridge
it makes of the media of the leg that answered and the caller's. Whatever ends the Dial (either side
hanging up, the time limit, `*` with hangupOnStar, the caller's call being redirected), every leg still live
is hung up on the way out, but for a leg that a live modification took out of the Dial (redirected itself, or
moved along with the caller by MoveConnectedCallLeg): it runs its new document instead.

While the two legs are bridged the Dial is both calls' connection (calls/owner.py `Connection`): Mute on
either call mutes its side of the bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from calls.dialled_leg import DialledLegOwner, Report
from calls.outbound import send_digits_to
from calls.owner import CallOwner
from calls.services import Services
from calls.types import CallEnded, CallRequest
from models import CallStatus, Recording, clock
from rcml.call_control import DialResult
from sip.media.bridge import Bridge
from sip.media.recorder import WavRecorder

log = logging.getLogger(__name__)

# The best failure among the legs when none answered, as Twilio reports DialCallStatus.
_FAILURE_ORDER = (CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.CANCELED, CallStatus.FAILED)

PlaceLeg = Callable[[CallRequest, Report], Awaitable[DialledLegOwner]]


class DialAttempt:
    """Runs in the calling call's RCML session (inside its owner, `caller`)."""

    def __init__(self, caller: CallOwner, services: Services, place_leg: PlaceLeg) -> None:
        self.caller = caller
        self.services = services
        self.place_leg = place_leg
        self.legs: list[DialledLegOwner] = []
        self._reports: asyncio.Queue[tuple[DialledLegOwner, str]] = asyncio.Queue()
        self._bridge: Bridge | None = None
        self._recorder: WavRecorder | None = None
        self._recording_sid: str | None = None
        self.connected: DialledLegOwner | None = None
        # Legs taken out of the Dial by a live modification: never hung up by it.
        self._released: set[CallOwner] = set()
        self._connected_left = asyncio.Event()

    async def run(self, requests: list[CallRequest], *, time_limit: float, hangup_on_star: bool,
                  record: bool, answer_on_bridge: bool = False) -> DialResult:
        try:
            for request in requests:
                self.legs.append(await self.place_leg(request, self._report))
            winner = await self._first_answer()
            if winner is None:
                return await self._none_answered()
            self.connected = winner
            for leg in self.legs:
                if leg is not winner:
                    await _hang_up(leg)
            if answer_on_bridge and not await self._answer_caller():
                return DialResult(CallStatus.FAILED.value, winner.call.sid)
            if winner.request.send_digits:
                # <Number sendDigits>: to the party that answered, before the caller hears it.
                await send_digits_to(winner, winner.request.send_digits)
            ended_by = await self._connected_until_done(winner, time_limit, hangup_on_star, record)
            log.debug("dial from %s to %s ended by %s", self.caller.call.sid, winner.call.sid, ended_by)
            if winner in self._released:
                duration = int((clock.now() - winner.answered_at).total_seconds()) if winner.answered_at else 0
            else:
                await _hang_up(winner)
                await winner.wait_finished()
                duration = winner.call.duration or 0
            recording = await self._save_recording()
            return DialResult(CallStatus.COMPLETED.value, winner.call.sid, duration, recording)
        finally:
            self._stop_media()
            for leg in self.legs:
                if not leg.finished and leg not in self._released:
                    leg.post_hangup()
            if self._recorder is not None and self._recording_sid is not None:
                # Cancelled (the caller hung up or was redirected): keep what was recorded.
                self.services.background.spawn(self._save_recording())

    async def _answer_caller(self) -> bool:
        """answerOnBridge: the caller is answered now that a party has (a no-op for one answered already);
        False when it could not be (it ended meanwhile, or no RTP port was free): the party is let go."""
        caller = self.caller
        if caller.answered_at is None:
            with contextlib.suppress(CallEnded):
                await caller.ask(caller.answer_call)
        return caller.answered_at is not None and caller.media is not None

    def _report(self, leg: DialledLegOwner, what: str) -> None:
        self._reports.put_nowait((leg, what))

    async def _first_answer(self) -> DialledLegOwner | None:
        """The first leg to answer, or None once every leg has ended unanswered (each rings its own timeout)."""
        ended: set[DialledLegOwner] = {leg for leg in self.legs if leg.finished}
        while len(ended) < len(self.legs):
            leg, what = await self._reports.get()
            if what == "answered" and leg not in self._released:
                return leg
            if what == "left":
                self._released.add(leg)
            ended.add(leg)
        return None

    async def _none_answered(self) -> DialResult:
        statuses = []
        for leg in self.legs:
            if leg in self._released:
                continue  # it rings on, outside this Dial
            await leg.wait_finished()
            statuses.append(leg.call.status)
        last_leg_sid = self.legs[-1].call.sid if self.legs else None
        if not statuses:  # every leg was taken out of the Dial by a redirect
            return DialResult(CallStatus.CANCELED.value, last_leg_sid)
        status = next((s.value for s in _FAILURE_ORDER if s.value in statuses), CallStatus.FAILED.value)
        return DialResult(status, last_leg_sid)

    async def _connected_until_done(self, winner: DialledLegOwner, time_limit: float, hangup_on_star: bool,
                                    record: bool) -> str:
        star = asyncio.Event()

        def on_dtmf(side: str, digit: str) -> None:
            if hangup_on_star and side == "a" and digit == "*":
                star.set()

        self._bridge = Bridge(self.caller.media, winner.media, on_dtmf=on_dtmf)
        if record:
            self._recording_sid, path = self.services.recordings.new_file()
            self._recorder = WavRecorder(path)
            self._bridge.record(self._recorder)
        self._bridge.mute("a", self.caller.muted)
        self._bridge.mute("b", winner.muted)
        self._bridge.start()
        self.caller.connect(self)
        winner.join(self)
        leg_ended = asyncio.ensure_future(winner.wait_finished())
        starred = asyncio.ensure_future(star.wait())
        left = asyncio.ensure_future(self._connected_left.wait())
        try:
            done, _ = await asyncio.wait({leg_ended, starred, left}, timeout=time_limit,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (leg_ended, starred, left):
                task.cancel()
        if left in done:
            return "redirected"
        if leg_ended in done:
            return "leg hung up"
        return "star" if starred in done else "time limit"

    # --- the Connection of both calls while bridged (calls/owner.py) ------------------------------------------

    async def set_muted(self, owner: CallOwner, muted: bool) -> None:
        if self._bridge is not None:
            self._bridge.mute("b" if owner is self.connected else "a", muted)

    def partner_of(self, owner: CallOwner) -> CallOwner | None:
        # The caller's redirect can take the leg it dialled along; the dialled leg's redirect ends the Dial
        # and the caller goes on with its document, as when that leg hangs up.
        return self.connected if owner is self.caller else None

    def release(self, owner: CallOwner) -> None:
        self._stop_media()
        if owner is self.connected:
            self._released.add(owner)
            self._connected_left.set()

    def _stop_media(self) -> None:
        # Called from either owner's turn (the caller's session, or the dialled leg redirected): each
        # owner lets go of this connection in its own turn.
        self.caller.leave(self)
        if self.connected is not None:
            self.connected.leave(self)
        if self._bridge is not None:
            self._bridge.stop()
            self._bridge = None
        if self._recorder is not None and not self._recorder.closed:
            self._recorder.close()

    async def _save_recording(self) -> Recording | None:
        recorder, sid = self._recorder, self._recording_sid
        if recorder is None or sid is None:
            return None
        self._recording_sid = None  # saved once, whichever path gets here first
        if not recorder.closed:
            recorder.close()
        return await self.services.recordings.save(sid, recorder.path, account_sid=self.caller.call.account_sid,
                                                   call_sid=self.caller.call.sid, duration=recorder.duration_s,
                                                   source="DialVerb")


async def _hang_up(leg: DialledLegOwner) -> None:
    with contextlib.suppress(CallEnded):
        await leg.ask(leg.hangup_call)

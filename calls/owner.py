"""The owner of one live call leg: the only code that changes the call once it exists.

Everything that can happen to a live call is a message in the owner's inbox (calls/actor.py): SIP events from
its legs, commands from the API (hang up, redirect, replace settings), its ring timer, requests from the RCML
session it runs (answer, reject, hang up). The owner handles them one at a time, so a redirect that arrives
during the answer waits for the answer, and the call reaches exactly one final status, written once, with
exactly one `completed` callback. The kinds of call are subclasses: calls/outbound.py, calls/inbound.py,
calls/dialled_leg.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from calls import notifications
from calls.actor import Actor
from calls.call_state import CallState, WriteDue
from calls.callbacks import Callback, call_parameters, progress_callback
from calls.detection_run import DetectionRun
from calls.services import Services
from calls.types import CallChange, final_fields
from models import Call, CallStatus, LogLevel, clock
from rcml.call_control import CallControl
from rcml.machine_detection import MachineDetection, restcomm_answered_by
from rcml.session import Session, Source
from sip import sdp
from sip.events import Answered, Dtmf, Ended, Failed, LegEvent, Reoffered, Ringing
from sip.media.amd import Verdict
from sip.media.clock import MediaClock
from telemetry import log_context
from telemetry.call_events import event
from telemetry.metrics import METRICS

log = logging.getLogger(__name__)


class Connection(Protocol):
    """What a live call's media is connected to by its RCML: the bridge of a <Dial>, or a conference seat.

    A live modification that concerns more than the call itself goes through its connection: `Mute` (the
    others stop hearing this leg), a redirect (this leg leaves, without being hung up), and
    `MoveConnectedCallLeg` (the connected leg leaves too, and runs the same new document). The owner holds
    its connection while the verb that made it runs; the verb clears it on the way out.
    """

    async def set_muted(self, owner: CallOwner, muted: bool) -> None:
        """Whether the other side(s) hear `owner`'s leg."""

    def partner_of(self, owner: CallOwner) -> CallOwner | None:
        """The leg that moves with `owner` under MoveConnectedCallLeg, if there is one."""

    def release(self, owner: CallOwner) -> None:
        """`owner` leaves the connection now because it runs another document; it is not hung up."""


@dataclass
class LegMessage:
    """A SIP event from one of the owner's legs; `leg` is whatever key the owner gave that leg's sink."""

    leg: Any
    event: LegEvent


class RingTimeout:
    pass


@dataclass
class DurationLimit:
    """The call has been up for its TimeLimit, or for the longest a call may last (RESTCOMM_MAX_CALL_SECONDS).
    `generation` tells a timer replaced by a later TimeLimit from the current one."""

    generation: int


@dataclass
class MediaCheck:
    """Time to see whether the far end of the answered call still sends RTP (RESTCOMM_RTP_TIMEOUT_SECONDS).
    `generation` tells a check made stale by a hold, a resume or the end from the current one."""

    generation: int


@dataclass
class SessionOver:
    session: asyncio.Task


class CallOwner(Actor):
    def __init__(self, services: Services, call: Call, *, source: Source, callback_url: str | None,
                 callback_method: str, callback_events: frozenset[str],
                 sip_header_parameters: dict[str, str] | None = None) -> None:
        super().__init__()
        self.services = services
        self.call = call
        self.state = CallState(call, post=self.post, send=services.callbacks.send)
        self.source = source
        self.callback_url = callback_url
        self.callback_method = callback_method
        self.callback_events = callback_events
        self.sip_header_parameters = sip_header_parameters or {}
        self.answered_at = None
        # The owner is made as the call's row is: right after the API request or the INVITE that made it.
        self.created_at = time.monotonic()
        self.document_url = source.url
        # The RTP endpoint of the call's leg, once it has one.
        self.media: Any = None
        # The verbs' view of this owner (calls/owner_control.py), given by the engine when it starts the owner.
        self.control: CallControl | None = None
        self._sequence = itertools.count()
        self._session: asyncio.Task | None = None
        self._ring_timer: asyncio.TimerHandle | None = None
        self._limit_timer: asyncio.TimerHandle | None = None
        self._limit_generation = 0
        # Twilio's TimeLimit: seconds from the answer (or from the change that set it) the call may last.
        self.time_limit: int | None = None
        self._time_limit_from: float | None = None  # monotonic time the TimeLimit counts from, once answered
        self._answered_monotonic: float | None = None
        # The RTP timeout: one timer per call, due when the far end will have been silent for the timeout if
        # nothing more arrives (the endpoint notes each packet's arrival; nothing is scheduled per packet).
        self._media_timer: asyncio.TimerHandle | None = None
        self._media_generation = 0
        # When silence counts from at the latest (the answer, or the resume), on the media clock: the one the
        # endpoint notes arrivals on, so the two compare (a test's stepped clock too).
        self._media_since = 0.0
        # What the far end's last SDP says: False while it holds the call (or otherwise said it sends nothing).
        self.remote_sends = True
        # Key presses, from RTP (RFC 4733) and SIP INFO alike, for <Gather> and <Record> to take.
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        # Set by the API (Mute): the parties this leg is connected to, now or later, do not hear it.
        self.muted = False
        self.connection: Connection | None = None
        # Answering machine detection while it runs (calls/detection_run.py).
        self.detection: DetectionRun | None = None

    def run(self, control: CallControl) -> None:
        """Start handling the inbox; `control` is what the call's RCML runs against."""
        self.control = control
        # Every line logged on this call's behalf, in its task and in those it starts, names the call.
        context = contextvars.copy_context()
        context.run(log_context.bind_call, self.call.sid, self.call.account_sid)
        call = self.call
        context.run(event, "call.created", direction=call.direction, to=call.destination or call.to_address,
                    from_=call.from_address)
        self.start(f"call {self.call.sid}", context)
        METRICS.calls_started.labels(self.call.direction).inc()

    def post_hangup(self) -> None:
        """Ask the owner to hang up, without waiting (server shutdown, a Dial letting its legs go)."""
        self.tell(self.hangup_call)

    def ended_status(self) -> str:
        return self.call.status

    async def handle(self, message: object) -> None:
        if isinstance(message, LegMessage):
            if isinstance(message.event, Dtmf):
                self.digits.put_nowait(message.event.digit)
            else:
                _log_leg_event(message.event)
                await self.on_leg_event(message.leg, message.event)
        elif isinstance(message, RingTimeout):
            await self.on_ring_timeout()
        elif isinstance(message, DurationLimit):
            if not self.finished and message.generation == self._limit_generation:
                await self._on_duration_limit()
        elif isinstance(message, MediaCheck):
            if not self.finished and message.generation == self._media_generation:
                await self._on_media_check()
        elif isinstance(message, WriteDue):
            await self.state.write_pending()
        elif isinstance(message, SessionOver):
            self._on_session_over(message.session)

    async def crashed(self) -> None:
        await self.finish(CallStatus.FAILED if self.answered_at is None else CallStatus.COMPLETED, "internal error")

    def released(self) -> None:
        self.stop_ring_timer()
        self.stop_detection()
        self._stop_limit_timer()
        self._stop_media_watch()
        self.state.stop()
        self._cancel_session()

    # --- what subclasses define ------------------------------------------------------------------------------

    async def on_leg_event(self, leg: Any, event: LegEvent) -> None:
        raise NotImplementedError

    async def on_ring_timeout(self) -> None:
        """Only outbound legs ring against a timer."""

    async def hang_up_legs(self) -> None:
        raise NotImplementedError

    async def answer_call(self) -> None:
        raise NotImplementedError

    async def reject_call(self, code: int, reason: str) -> None:
        raise NotImplementedError

    async def hangup_call(self) -> None:
        """End the call from our side: BYE when answered, CANCEL or refusal before."""
        raise NotImplementedError

    async def fail_call(self, reason: str) -> None:
        """End the call because its application cannot run (refused if not answered yet)."""
        raise NotImplementedError

    async def apply_change(self, change: CallChange) -> None:
        """A live modification from the API (contract section 8), applied inside the owner."""
        raise NotImplementedError

    @property
    def runs_before_answer(self) -> bool:
        """Whether the call runs RCML before it is answered (an inbound call does; an outbound one waits)."""
        return False

    # --- SIP events and timers in, as messages ----------------------------------------------------------------

    def sink_for(self, leg: Any) -> Callable[[LegEvent], None]:
        def on_event(event: LegEvent) -> None:
            self.post(LegMessage(leg, event))

        return on_event

    def start_ring_timer(self, seconds: float) -> None:
        self._ring_timer = asyncio.get_running_loop().call_later(seconds, self.post, RingTimeout())

    def stop_ring_timer(self) -> None:
        if self._ring_timer is not None:
            self._ring_timer.cancel()
            self._ring_timer = None

    def _stop_limit_timer(self) -> None:
        if self._limit_timer is not None:
            self._limit_timer.cancel()
            self._limit_timer = None

    def _limit_deadlines(self) -> tuple[float, float | None]:
        """(when RESTCOMM_MAX_CALL_SECONDS ends the answered call, when its TimeLimit does), monotonic."""
        assert self._answered_monotonic is not None
        cap = self._answered_monotonic + self.services.limits.max_call_seconds
        if self.time_limit is None:
            return cap, None
        return cap, (self._time_limit_from or self._answered_monotonic) + self.time_limit

    def _arm_limit_timer(self) -> None:
        """No call runs forever, whatever its document does (Twilio ends calls after 4 h too); one with a
        TimeLimit ends when that comes first."""
        self._stop_limit_timer()
        self._limit_generation += 1
        cap, own = self._limit_deadlines()
        due = cap if own is None else min(cap, own)
        self._limit_timer = asyncio.get_running_loop().call_later(
            max(0.0, due - time.monotonic()), self.post, DurationLimit(self._limit_generation))

    async def _on_duration_limit(self) -> None:
        cap, own = self._limit_deadlines()
        if own is None or cap <= own:
            seconds = self.services.limits.max_call_seconds
            await self.notify(13250, f"The call reached the longest a call may last ({seconds} s): hung up",
                              LogLevel.WARNING)
        # Its own TimeLimit ends the call as a hang-up by us: `completed`, as Twilio does, no Notification.
        await self.hangup_call()

    def set_time_limit(self, seconds: int) -> None:
        """TimeLimit from a live modification: the call may last `seconds` more from now (from its answer when
        it is not answered yet), still within RESTCOMM_MAX_CALL_SECONDS of its answer."""
        self.time_limit = seconds
        if self._answered_monotonic is not None:
            self._time_limit_from = time.monotonic()
            self._arm_limit_timer()

    # --- the RTP timeout ---------------------------------------------------------------------------------------

    def note_remote_sdp(self, text: str | None) -> None:
        """The far end's SDP of the answered leg (its offer or answer, then each re-INVITE's): while it holds the
        call (sendonly, inactive, c=0.0.0.0: RFC 3264 section 8.4) its silence is no sign it has gone, so the RTP
        timeout does not run; once it resumes, the timeout counts afresh from then."""
        sends = sdp.expects_rtp(text)
        resumed = sends and not self.remote_sends
        self.remote_sends = sends
        if self._answered_monotonic is None or self.finished:
            return  # mark_answered() starts the watch, if the SDP by then says so
        if not sends:
            self._stop_media_watch()
        elif resumed:
            self._watch_media()

    def _watch_media(self) -> None:
        """Starts the RTP timeout of the answered call, counting from now (the answer, or a resume)."""
        self._stop_media_watch()
        timeout = self.services.limits.rtp_timeout_seconds
        if timeout <= 0 or self.media is None or not self.remote_sends:
            return
        self._media_since = MediaClock.current().time()
        self._arm_media_check(timeout)

    def _arm_media_check(self, delay: float) -> None:
        self._media_generation += 1
        self._media_timer = asyncio.get_running_loop().call_later(
            max(0.0, delay), self.post, MediaCheck(self._media_generation))

    def _stop_media_watch(self) -> None:
        self._media_generation += 1  # a check already in the inbox is stale
        if self._media_timer is not None:
            self._media_timer.cancel()
            self._media_timer = None

    async def _on_media_check(self) -> None:
        """Due when the far end would have been silent for the timeout: unless a packet came since the check was
        armed, the call is hung up; if one came, the next check is due the timeout after the last. A call that
        keeps sending costs one check a timeout (a minute), whatever its packet rate."""
        self._media_timer = None
        timeout = self.services.limits.rtp_timeout_seconds
        if timeout <= 0 or self.media is None or not self.remote_sends:
            return
        heard = self.media.last_received_at
        since = self._media_since if heard is None else max(heard, self._media_since)
        left = since + timeout - MediaClock.current().time()
        if left > 0:
            self._arm_media_check(left)
            return
        await self.notify(13252, f"No RTP from the far end for {timeout:g} s (RESTCOMM_RTP_TIMEOUT_SECONDS): it is "
                                 "gone without hanging up (lost network, NAT binding expired, crashed phone); the "
                                 "call was hung up", LogLevel.WARNING)
        # Answered, so ended by our BYE as any hang-up of ours: `completed`, with its final callback.
        await self.finish(CallStatus.COMPLETED, f"no RTP for {timeout:g} s")

    async def open_media(self) -> Any:
        """The call's RTP endpoint; its key presses join the call's digits."""
        self.media = await self.services.media.open()
        self.media.on_dtmf(self.digits.put_nowait)
        return self.media

    def close_media(self) -> None:
        if self.media is not None:
            self.media.close()
            self.media = None

    # --- state changes (owner only) --------------------------------------------------------------------------

    async def mark_answered(self) -> None:
        self.stop_ring_timer()
        self.answered_at = clock.now()
        self._answered_monotonic = time.monotonic()
        self._arm_limit_timer()
        self._watch_media()
        setup = time.monotonic() - self.created_at
        METRICS.call_setup.labels(self.call.direction).observe(setup)
        event("call.answered", setup_ms=round(setup * 1000))
        # answered_at rides on in-progress's own (write-behind) UPDATE: no write of its own.
        self.state.set_status(CallStatus.IN_PROGRESS, answered_at=self.answered_at)
        self.send_callback("answered")

    async def finish(self, status: CallStatus, cause: str = "") -> None:
        """The call's one final status: written once, callback sent once, legs and media let go.
        `cause` says in a few words what ended it, for the log."""
        if self.finished:
            return
        self.mark_finished()
        self.stop_ring_timer()
        self.stop_detection()
        self._stop_limit_timer()
        self._stop_media_watch()
        self._cancel_session()
        now = clock.now()
        duration = int((now - self.answered_at).total_seconds()) if self.answered_at else 0
        written = await self.state.write(**final_fields(status, now, duration), live_only=True)
        METRICS.calls_ended.labels(self.call.direction, str(status)).inc()
        event("call.ended", status=str(status), cause=cause or str(status), duration=duration)
        if written:
            self.send_callback("completed", CallDuration=str(duration))
        else:
            # The row was final already: another node took this one for dead and closed the call, and sent
            # its final callback. One final status, one final callback.
            log.warning("call %s had been closed elsewhere (this node's lease ran out): no second final "
                        "callback", self.call.sid)
        with contextlib.suppress(Exception):
            await self.hang_up_legs()

    async def notify(self, code: int, message: str, level: LogLevel = LogLevel.ERROR) -> None:
        await notifications.record(account_sid=self.call.account_sid, call_sid=self.call.sid, code=code,
                                   message=message, level=level, request_url=self.document_url)

    # --- answering machine detection ----------------------------------------------------------------------------

    def start_detection(self, detection: MachineDetection) -> None:
        """Listen to the answered call; without AsyncAmd its application runs once the result is known."""
        def on_verdict(verdict: Verdict, elapsed_ms: int) -> None:
            self.tell(lambda: self._on_detected(detection, verdict, elapsed_ms))

        self.detection = DetectionRun(self.call.sid, self.media, detection, on_verdict)

    def stop_detection(self) -> None:
        if self.detection is not None:
            self.detection.stop()
            self.detection = None

    async def _on_detected(self, detection: MachineDetection, verdict: Verdict, elapsed_ms: int) -> None:
        self.detection = None
        if self.finished:
            return
        result = verdict.answered_by
        await self.state.write(answered_by=restcomm_answered_by(result), answered_by_detail=result.value)
        if detection.asynchronous:
            if detection.async_callback:
                self.state.send(Callback(self.call.account_sid, self.call.sid, detection.async_callback,
                                         detection.async_callback_method, {
                                             **self.request_parameters(),
                                             "MachineDetectionDuration": str(elapsed_ms),
                                         }))
        else:
            await self.on_detected()

    async def on_detected(self) -> None:
        """Synchronous detection has its result: the application, which waited for it, runs now (unless a
        redirect during the detection already runs its own)."""
        if self._session is None:
            self.run_application(self.source)

    # --- the RCML session -----------------------------------------------------------------------------------

    def run_application(self, source: Source, first: Callable[[], Awaitable[None]] | None = None) -> None:
        """Runs `source`'s document (after `first`, when given: SendDigits) as the call's session, which a
        redirect or the end of the call cancels."""
        previous = self._session
        self._cancel_session()
        self.source = source
        session = Session(self.control)

        async def run() -> None:
            if first is not None:
                await first()
            await session.run(source)

        task = asyncio.get_running_loop().create_task(_after(previous, run), name=f"rcml {self.call.sid}")
        task.add_done_callback(lambda finished: self.post(SessionOver(finished)))
        self._session = task

    def _cancel_session(self) -> None:
        if self._session is not None and not self._session.done():
            self._session.cancel()
        self._session = None

    def _on_session_over(self, task: asyncio.Task) -> None:
        if task.cancelled() or task is not self._session:
            return
        error = task.exception()
        if error is not None:
            log.error("call %s: RCML session failed", self.call.sid, exc_info=error)
            self.tell(lambda: self._end_after_error(str(error)))

    async def _end_after_error(self, reason: str) -> None:
        await self.notify(12400, f"Internal error running the application: {reason}")
        await self.hangup_call()

    # --- live modification, run inside the owner ---------------------------------------------------------------

    async def change_live_call(self, change: CallChange, *, answered: bool) -> None:
        """What every kind of call does with the settings, `Mute` and `Url` of a modification.

        A call not answered yet keeps the new document for its answer; one already running RCML stops it
        and runs the new one at once.
        """
        await self.replace_settings(change)
        if change.time_limit is not None:
            self.set_time_limit(change.time_limit)
        if change.mute is not None:
            await self.set_muted(change.mute)
        if change.url is not None:
            source = Source(change.url, change.method or "POST", self.call.fallback_url, self.call.fallback_method)
            if answered or self.runs_before_answer:
                self.redirect(source, move_partner=bool(change.move_connected_leg))
            else:
                self.source = source

    async def set_muted(self, muted: bool) -> None:
        self.muted = muted
        # In the row as well, so the modification's response (and every later GET) says so.
        await self.state.write(muted=muted)
        if self.connection is not None:
            await self.connection.set_muted(self, muted)

    def redirect(self, source: Source, *, move_partner: bool = False) -> None:
        """Stop the current RCML and run `source`; the leg connected to this one is hung up by the verb that
        connected them, unless `move_partner` moves it to `source` too (a message to its owner)."""
        partner = None
        connection = self.connection
        if connection is not None:
            partner = connection.partner_of(self) if move_partner else None
            if partner is not None:
                connection.release(partner)
            connection.release(self)
        self.run_application(source)
        if partner is not None:
            moved = partner

            async def move() -> None:
                moved.redirect(source)

            moved.tell(move)

    async def replace_settings(self, change: CallChange) -> None:
        """The application and callback settings a modification replaces, for now and for later."""
        fields = change.settings()
        if not fields:
            return
        await self.state.write(**fields)
        self.callback_url = self.call.status_callback
        self.callback_method = self.call.status_callback_method

    # --- connections: set by the verb that made them, or by a Dial through this owner's inbox ------------------

    def connect(self, connection: Connection) -> None:
        """From now on, Mute and redirects of this call also concern `connection` (the owner's own session)."""
        self.connection = connection

    def disconnect(self, connection: Connection) -> None:
        if self.connection is connection:
            self.connection = None

    def join(self, connection: Connection) -> None:
        """Another owner's Dial connects this leg: in this owner's turn, with the Mute it has by then."""

        async def joined() -> None:
            self.connect(connection)
            await connection.set_muted(self, self.muted)

        self.tell(joined)

    def leave(self, connection: Connection) -> None:
        async def left() -> None:
            self.disconnect(connection)

        self.tell(left)

    # --- parameters for the application and the status callback ------------------------------------------------

    def request_parameters(self) -> dict[str, str]:
        return call_parameters(self.call, self.sip_header_parameters)

    def send_callback(self, event: str, **extra: str) -> None:
        if not self.callback_url or event not in self.callback_events:
            return
        self.state.send(progress_callback(self.call, self.callback_url, self.callback_method,
                                          self.request_parameters(), sequence=next(self._sequence), **extra))


def _log_leg_event(leg_event: LegEvent) -> None:
    if isinstance(leg_event, Ringing):
        event("sip.response", code=leg_event.code)
    elif isinstance(leg_event, Answered):
        event("sip.response", code=200)
    elif isinstance(leg_event, Failed):
        event("sip.response", code=leg_event.code, reason=leg_event.reason)
    elif isinstance(leg_event, Ended):
        event("sip.dialog_ended", by="remote" if leg_event.by_remote else "us")
    elif isinstance(leg_event, Reoffered):
        event("sip.reinvite_received", held=not sdp.expects_rtp(leg_event.sdp))


async def _after(previous: asyncio.Task | None, work: Callable[[], Awaitable[None]]) -> None:
    """Runs `work` once the cancelled session `previous` has finished cleaning up: a verb it was running
    (a conference) must leave its room before the new document can enter one. A fetch is fast enough now
    to make the new session's entry overtake the old one's exit (a duplicate participant row)."""
    if previous is not None and not previous.done():
        await asyncio.wait([previous])
    await work()  # made only now: a session cancelled while it waited leaves no coroutine unawaited

"""The owner of one live call leg: the only code that changes the call once it exists.

Everything that can happen to a live call is a message in the owner's inbox: SIP events from its legs,
commands from the API (hang up, redirect, replace settings), its ring timer, requests from the RCML
session it runs (answer, reject, hang up). The owner handles them one at a time, so a redirect that
arrives during the answer waits for the answer, and the call reaches exactly one final status, written
once, with exactly one `completed` callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from models import Call, CallStatus, LogLevel, clock
from models.call import update_call
from rcml import notifications, verbs
from rcml.callbacks import Callback
from rcml.documents import Fetched, FetchFailed
from rcml.session import Session, Source
from sip.events import Answered, Dtmf, Ended, Failed, LegEvent, Ringing

if TYPE_CHECKING:
    from rcml.connection import Connection
    from rcml.engine import CallChange, CallEngine

log = logging.getLogger(__name__)

API_VERSION = "2012-04-24"
# A live-to-live status (ringing, in-progress) is written this long after it happens, in one UPDATE with
# whatever follows it meanwhile: ringing and in-progress of a call answered within it cost one UPDATE
# instead of two (about 0.3 ms of server CPU each, and as much again in PostgreSQL). The final status is
# written at once. The callbacks of a deferred status, and the RCML requests made meanwhile, wait for its
# write, so an application that reads the call back sees at least the status it was told.
WRITE_BEHIND_S = 0.05
ZERO_PRICE = "0.00"
PRICE_UNIT = "USD"


class Leg:
    """What the owner needs of a SIP leg (the stack's OutboundLeg and InboundLeg both have it)."""

    call_id: str

    async def hangup(self) -> None: ...


@dataclass
class LegMessage:
    """A SIP event from one of the owner's legs; `leg` is whatever key the owner gave that leg's sink."""

    leg: Any
    event: LegEvent


@dataclass
class _Request:
    """A request from the API or the session; `done` receives the result or the error."""

    action: Callable[[], Awaitable[Any]]
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class _RingTimeout:
    pass


@dataclass
class _WriteDue:
    pass


@dataclass
class _SessionOver:
    session: asyncio.Task


# SIP final responses that mean "busy" and "no answer" (contract section 7); anything else is "failed".
BUSY_CODES = frozenset({486, 600, 603})
NO_ANSWER_CODES = frozenset({408, 480})


def status_for_failure(code: int) -> CallStatus:
    if code in BUSY_CODES:
        return CallStatus.BUSY
    if code in NO_ANSWER_CODES:
        return CallStatus.NO_ANSWER
    return CallStatus.FAILED


class CallOwner:
    def __init__(self, engine: CallEngine, call: Call, *, source: Source, callback_url: str | None,
                 callback_method: str, callback_events: frozenset[str],
                 sip_header_parameters: dict[str, str] | None = None) -> None:
        self.engine = engine
        self.call = call
        self.source = source
        self.callback_url = callback_url
        self.callback_method = callback_method
        self.callback_events = callback_events
        self.sip_header_parameters = sip_header_parameters or {}
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None
        self.answered_at = None
        self.document_url = source.url
        self._sequence = itertools.count()
        self._session: asyncio.Task | None = None
        self._ring_timer: asyncio.TimerHandle | None = None
        self._finished = asyncio.Event()
        # Fields changed in memory and not written yet, the timer that writes them, and the callbacks held
        # until they are written (see WRITE_BEHIND_S).
        self._unwritten: dict[str, Any] = {}
        self._write_timer: asyncio.TimerHandle | None = None
        self._held: list[Callback] = []
        # Key presses, from RTP (RFC 4733) and SIP INFO alike, for <Gather> and <Record> to take.
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        # Set by the API (Mute): the parties this leg is connected to, now or later, do not hear it.
        self.muted = False
        self.connection: Connection | None = None

    # --- the actor ---------------------------------------------------------------------------------------

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"call {self.call.sid}")

    def post(self, message: object) -> None:
        if not self._finished.is_set():
            self.inbox.put_nowait(message)

    async def ask(self, action: Callable[[], Awaitable[Any]]) -> Any:
        """Run `action` inside the owner, after whatever it is doing now, and return its result.

        Raises CallEnded when the call ended before the action's turn came (the owner fails every request
        still queued when it stops); an action that itself ends the call still returns normally.
        """
        if self._finished.is_set():
            raise CallEnded(self.call.status)
        request = _Request(action)
        self.inbox.put_nowait(request)
        return await request.done

    def post_hangup(self) -> None:
        """Ask the owner to hang up, without waiting (server shutdown)."""
        self.post(_Request(self.hangup_call))

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    async def wait_finished(self) -> None:
        await self._finished.wait()

    async def _run(self) -> None:
        try:
            await self.begin()
            while not self._finished.is_set():
                message = await self.inbox.get()
                await self._handle(message)
        except Exception:
            log.exception("call %s: owner failed", self.call.sid)
            await self.finish(CallStatus.FAILED if self.answered_at is None else CallStatus.COMPLETED)
        finally:
            await self._release()

    async def _handle(self, message: object) -> None:
        if isinstance(message, LegMessage):
            if isinstance(message.event, Dtmf):
                self.digits.put_nowait(message.event.digit)
            else:
                await self.on_leg_event(message.leg, message.event)
        elif isinstance(message, _Request):
            try:
                result = await message.action()
            except Exception as exc:
                if not message.done.done():
                    message.done.set_exception(exc)
            else:
                if not message.done.done():
                    message.done.set_result(result)
        elif isinstance(message, _RingTimeout):
            await self.on_ring_timeout()
        elif isinstance(message, _WriteDue):
            await self.write_pending()
        elif isinstance(message, _SessionOver):
            self._on_session_over(message.session)

    # --- what subclasses define ------------------------------------------------------------------------------

    async def begin(self) -> None:
        raise NotImplementedError

    async def on_leg_event(self, leg: Any, event: LegEvent) -> None:
        raise NotImplementedError

    async def on_ring_timeout(self) -> None:
        """Only outbound legs ring against a timer."""

    async def hang_up_legs(self) -> None:
        raise NotImplementedError

    # --- SIP events and timers in, as messages ----------------------------------------------------------------

    def sink_for(self, leg: Any) -> Callable[[LegEvent], None]:
        def on_event(event: LegEvent) -> None:
            self.post(LegMessage(leg, event))

        return on_event

    def start_ring_timer(self, seconds: float) -> None:
        self._ring_timer = asyncio.get_running_loop().call_later(seconds, self.post, _RingTimeout())

    def stop_ring_timer(self) -> None:
        if self._ring_timer is not None:
            self._ring_timer.cancel()
            self._ring_timer = None

    def attach_media(self, endpoint: Any) -> None:
        """A new RTP endpoint's key presses join the call's digits."""
        endpoint.on_dtmf(self.digits.put_nowait)

    # --- state changes (owner only) --------------------------------------------------------------------------

    async def set_status(self, status: CallStatus, **extra: Any) -> None:
        """A live-to-live transition (ringing, in-progress), written within WRITE_BEHIND_S; final ones go
        through `finish`. The call in memory (what verbs, callbacks and the application see) changes now."""
        fields = {"status": status.value, **extra, "date_updated": clock.now()}
        for name, value in fields.items():
            setattr(self.call, name, value)
        self._unwritten.update(fields)
        if self._write_timer is None:
            self._write_timer = asyncio.get_running_loop().call_later(WRITE_BEHIND_S, self.post, _WriteDue())

    @property
    def has_unwritten(self) -> bool:
        """Whether a deferred status (see WRITE_BEHIND_S) is in memory and not yet in the database."""
        return bool(self._unwritten)

    async def write_pending(self) -> None:
        """Writes the deferred fields now (before the database is read for this call's current state)."""
        if self._unwritten:
            await self._write()

    async def mark_answered(self) -> None:
        self.stop_ring_timer()
        self.answered_at = clock.now()
        await self.set_status(CallStatus.IN_PROGRESS)
        self.send_callback("answered")

    async def finish(self, status: CallStatus) -> None:
        """The call's one final status: written once, callback sent once, legs and media let go."""
        if self._finished.is_set():
            return
        self._finished.set()
        self.stop_ring_timer()
        self._cancel_session()
        now = clock.now()
        duration = int((now - self.answered_at).total_seconds()) if self.answered_at else 0
        await self._write(status=status.value, end_time=now, duration=duration, price=ZERO_PRICE,
                          price_unit=PRICE_UNIT, live_only=True)
        self.send_callback("completed", CallDuration=str(duration))
        with contextlib.suppress(Exception):
            await self.hang_up_legs()

    async def _write(self, *, live_only: bool = True, **fields: Any) -> None:
        # The deferred fields go in the same UPDATE; the newer values win.
        fields = {**self._unwritten, **fields, "date_updated": clock.now()}
        self._unwritten = {}
        self._stop_write_timer()
        # live_only: a call in a final status never changes again, whatever a late message says.
        if await update_call(self.call.sid, fields, live_only=live_only):
            for name, value in fields.items():
                setattr(self.call, name, value)
        held, self._held = self._held, []
        for callback in held:
            self.engine.callbacks.send(callback)

    def _stop_write_timer(self) -> None:
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None

    async def _release(self) -> None:
        self._finished.set()
        self.stop_ring_timer()
        self._stop_write_timer()
        self._cancel_session()
        self.engine.forget(self)
        # Anyone still waiting on a request learns that the call is over.
        while not self.inbox.empty():
            message = self.inbox.get_nowait()
            if isinstance(message, _Request) and not message.done.done():
                message.done.set_exception(CallEnded(self.call.status))

    # --- the RCML session -----------------------------------------------------------------------------------

    def run_application(self, source: Source) -> None:
        previous = self._session
        self._cancel_session()
        self.source = source
        session = Session(self.control)
        task = asyncio.get_running_loop().create_task(_after(previous, lambda: session.run(source)),
                                                      name=f"rcml {self.call.sid}")
        task.add_done_callback(lambda finished: self.post(_SessionOver(finished)))
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
            self.post(_Request(lambda: self._end_after_error(str(error))))

    async def _end_after_error(self, reason: str) -> None:
        await self.notify(12400, f"Internal error running the application: {reason}")
        await self.hangup_call()

    @property
    def control(self) -> OwnerControl:
        return OwnerControl(self)

    # --- what verbs and the API ask for, run inside the owner ---------------------------------------------------

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

    async def change_live_call(self, change: CallChange, *, answered: bool) -> None:
        """What every kind of call does with the settings, `Mute` and `Url` of a modification.

        A call not answered yet keeps the new document for its answer; one already running RCML stops it
        and runs the new one at once.
        """
        await self.replace_settings(change)
        if change.mute is not None:
            await self.set_muted(change.mute)
        if change.url is not None:
            source = Source(change.url, change.method or "POST", self.call.fallback_url, self.call.fallback_method)
            if answered or self.runs_before_answer:
                self.redirect(source, move_partner=bool(change.move_connected_leg))
            else:
                self.source = source

    @property
    def runs_before_answer(self) -> bool:
        """Whether the call runs RCML before it is answered (an inbound call does; an outbound one waits)."""
        return False

    async def set_muted(self, muted: bool) -> None:
        self.muted = muted
        if self.connection is not None:
            await self.connection.set_muted(self, muted)

    def redirect(self, source: Source, *, move_partner: bool = False) -> None:
        """Stop the current RCML and run `source`; the leg connected to this one is hung up by the verb that
        connected them, unless `move_partner` moves it to `source` too."""
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

            partner.post(_Request(move))

    async def replace_settings(self, change: Any) -> None:
        """The application and callback settings a modification replaces, for now and for later."""
        fields = {name: getattr(change, name) for name in
                  ("url", "method", "fallback_url", "fallback_method", "status_callback", "status_callback_method")
                  if getattr(change, name) is not None}
        if not fields:
            return
        await self._write(**fields)
        self.callback_url = self.call.status_callback
        self.callback_method = self.call.status_callback_method

    async def notify(self, code: int, message: str, level: LogLevel = LogLevel.ERROR) -> None:
        await notifications.record(account_sid=self.call.account_sid, call_sid=self.call.sid, code=code,
                                   message=message, level=level, request_url=self.document_url)

    # --- parameters for the application and the status callback ------------------------------------------------

    def request_parameters(self) -> dict[str, str]:
        call = self.call
        parameters = {
            "CallSid": call.sid,
            "AccountSid": call.account_sid,
            "From": call.from_address,
            "To": call.to_address,
            "CallStatus": call.status,
            "ApiVersion": API_VERSION,
            "Direction": call.direction,
            "ForwardedFrom": call.forwarded_from or "",
            "CallerName": call.caller_name or "",
        }
        if call.parent_call_sid:
            parameters["ParentCallSid"] = call.parent_call_sid
        parameters.update(self.sip_header_parameters)
        return parameters

    def send_callback(self, event: str, **extra: str) -> None:
        if not self.callback_url or event not in self.callback_events:
            return
        parameters = self.request_parameters()
        parameters.update(
            SequenceNumber=str(next(self._sequence)),
            Timestamp=clock.rfc2822(clock.now()),
            CallbackSource="call-progress-events",
            **extra,
        )
        callback = Callback(self.call.account_sid, self.call.sid, self.callback_url, self.callback_method, parameters)
        if self._unwritten:
            self._held.append(callback)  # sent once the status it reports is written
        else:
            self.engine.callbacks.send(callback)


async def _after(previous: asyncio.Task | None, work: Callable[[], Awaitable[None]]) -> None:
    """Runs `work` once the cancelled session `previous` has finished cleaning up: a verb it was running
    (a conference) must leave its room before the new document can enter one. A fetch is fast enough now
    to make the new session's entry overtake the old one's exit (a duplicate participant row)."""
    if previous is not None and not previous.done():
        await asyncio.wait([previous])
    await work()  # made only now: a session cancelled while it waited leaves no coroutine unawaited


class CallEnded(Exception):
    """The call reached its final status before the request could run."""

    def __init__(self, status: str) -> None:
        super().__init__(f"the call has ended ({status})")
        self.status = status


class OwnerControl:
    """The owner as the RCML session sees it: each request runs inside the owner, in turn."""

    def __init__(self, owner: CallOwner) -> None:
        self._owner = owner

    @property
    def answered(self) -> bool:
        return self._owner.answered_at is not None

    @property
    def inbound(self) -> bool:
        return self._owner.call.direction == "inbound"

    @property
    def document_url(self) -> str:
        return self._owner.document_url

    @property
    def call_sid(self) -> str:
        return self._owner.call.sid

    @property
    def account_sid(self) -> str:
        return self._owner.call.account_sid

    @property
    def media(self) -> Any:
        """The call's RTP endpoint once answered (None before)."""
        return self._owner.media if self.answered else None

    @property
    def audio(self) -> Any:
        return self._owner.engine.audio

    @property
    def recordings(self) -> Any:
        return self._owner.engine.recordings

    def clear_digits(self) -> None:
        while not self._owner.digits.empty():
            self._owner.digits.get_nowait()

    async def next_digit(self, within: float) -> str | None:
        """The next key pressed, or None after `within` seconds without one."""
        try:
            async with asyncio.timeout(within):
                return await self._owner.digits.get()
        except TimeoutError:
            return None

    def absolute_url(self, path: str) -> str:
        """A path on this server as the application can reach it (RESTCOMM_PUBLIC_URL)."""
        return self._owner.engine.base_url + path

    async def report(self, url: str, method: str, parameters: dict[str, str]) -> None:
        """Request `url` with the call's parameters and `parameters`, for a call that has ended: the
        application learns the outcome (a recording cut by the hang-up); whatever it answers is not run."""
        try:
            await self.fetch(url, method, {**self.request_parameters(), **parameters})
        except FetchFailed as failure:
            await self.report_fetch_failure(failure)

    @property
    def call(self) -> Any:
        """The call's row as its owner last wrote it (read-only for verbs)."""
        return self._owner.call

    async def place_dial_leg(self, request: Any, report: Any) -> Any:
        """A leg of this call's <Dial>: a call of its own, placed now; `report` hears of its progress."""
        return await self._owner.engine.dial_leg(self._owner.call, request, report)

    @property
    def owner(self) -> CallOwner:
        """The owner itself, for a connection to tell this call's leg from the leg it connects it to."""
        return self._owner

    @property
    def muted(self) -> bool:
        return self._owner.muted

    def connect(self, connection: Connection) -> None:
        """From now on, Mute and redirects of this call also concern `connection`."""
        self._owner.connection = connection

    def disconnect(self, connection: Connection) -> None:
        if self._owner.connection is connection:
            self._owner.connection = None

    async def conference_room(self, name: str) -> Any:
        return await self._owner.engine.rooms.room(self._owner.call.account_sid, name)

    async def fetch_document(self, url: str, method: str) -> Any:
        return await self.fetch(url, method, self.request_parameters())

    async def fetch(self, url: str, method: str, parameters: dict[str, str]) -> Fetched:
        """Every request of this call to its application goes through here."""
        owner = self._owner
        if owner.has_unwritten:
            # The application is told the call's status now and may read the call back through the API
            # while it answers: what it reads must not be older. Written by the owner, after any write of
            # its own in flight; a call that ended meanwhile has had everything written with its end.
            with contextlib.suppress(CallEnded):
                await owner.ask(owner.write_pending)
        return await owner.engine.fetcher.fetch(url, method, parameters)

    def background(self, coroutine: Any) -> None:
        """Work that must finish even if the call ends now (saving a recording)."""
        self._owner.engine.spawn(coroutine)

    def set_document_url(self, url: str) -> None:
        self._owner.document_url = url

    def request_parameters(self) -> dict[str, str]:
        return self._owner.request_parameters()

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

    async def warn(self, code: int, message: str) -> None:
        await self._owner.notify(code, message, LogLevel.WARNING)

    async def report_problem(self, problem: verbs.Problem) -> None:
        level = LogLevel.ERROR if problem.is_error else LogLevel.WARNING
        await self._owner.notify(problem.code, problem.message, level)

    async def report_fetch_failure(self, failure: FetchFailed) -> None:
        await notifications.record_fetch_failure(self._owner.call.account_sid, self._owner.call.sid, failure)


__all__ = ["Answered", "CallEnded", "CallOwner", "Dtmf", "Ended", "Failed", "Ringing", "status_for_failure"]

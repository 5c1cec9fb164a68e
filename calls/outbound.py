"""The owner of a call placed through the API: ring the destination, run the application on answer.

A `client:` destination may have several registered devices; each gets its own INVITE (a fork). The
first to answer wins and the others get CANCEL; if none answers, the call ends with the most telling
failure (busy before no-answer before failed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from calls.admission import StartTurn
from calls.call_recording import CallRecording
from calls.owner import CallOwner
from calls.services import Services
from calls.types import CallChange, CallRequest, Target
from models import Call, CallStatus, LogLevel
from rcml.session import Source
from sip.events import Answered, Ended, Failed, LegEvent, Reoffered, Ringing
from sip.media.key_presses import send_keys
from telemetry import call_events

log = logging.getLogger(__name__)

# SIP final responses that mean "busy" and "no answer" (contract section 7); anything else is "failed".
BUSY_CODES = frozenset({486, 600, 603})
NO_ANSWER_CODES = frozenset({408, 480})


# The failure code of an INVITE that got no response at all (Timer B, ICMP): the call is `failed`.
UNREACHED = 0


def status_for_failure(code: int) -> CallStatus:
    if code in BUSY_CODES:
        return CallStatus.BUSY
    if code in NO_ANSWER_CODES:
        return CallStatus.NO_ANSWER
    return CallStatus.FAILED


@dataclass
class Fork:
    target: Target
    leg: Any = None
    over: bool = False


class Admitted:
    """The message of the pacing: this call's turn to start has come (calls/admission.py)."""


class OutboundOwner(CallOwner):
    def __init__(self, services: Services, call: Call, request: CallRequest, turn: StartTurn | None = None) -> None:
        """`turn`: the call stays queued until it comes (its account's calls per second); None: placed at once."""
        super().__init__(
            services, call,
            source=Source(call.url, call.method, call.fallback_url, call.fallback_method),
            callback_url=call.status_callback,
            callback_method=call.status_callback_method,
            callback_events=frozenset(call.status_callback_event.split(",")),
        )
        self.request = request
        self.forks: list[Fork] = []
        self.winner: Fork | None = None
        self.failure_codes: list[int] = []
        self.turn = turn
        # The whole call's recording (Record=true), from the answer to the end.
        self.recording: CallRecording | None = None
        self.time_limit = request.time_limit

    async def begin(self) -> None:
        if self.turn is not None and not self.turn.come:
            # Waiting in the inbox, not in begin(): a hang-up or redirect of the queued call is handled at once.
            self.turn.when_come(lambda: self.post(Admitted()))
            return
        await self.place()

    async def handle(self, message: object) -> None:
        if isinstance(message, Admitted):
            await self.place()
        else:
            await super().handle(message)

    def released(self) -> None:
        if self.turn is not None:
            self.turn.withdraw()  # ended while queued: its turn goes to the next call of the account
        super().released()

    async def place(self) -> None:
        """Ring the destination: an INVITE to each target."""
        routes = self.services.routes
        targets = await routes.targets_for(self.call, self.request.to)
        if not targets:
            await self.finish(CallStatus.FAILED, "no route to the destination")
            return
        offer = self.services.media.offer(await self.open_media())
        self.send_callback("initiated")
        self.start_ring_timer(self.call.timeout)
        for target in targets:
            fork = Fork(target)
            self.forks.append(fork)
            invite = routes.invite_for(self.call, self.request, target, offer)
            try:
                fork.leg = await self.services.stack.invite(invite, self.sink_for(fork))
                if self.services.sip_messages is not None:
                    self.services.sip_messages.follow(fork.leg.call_id, self.call.account_sid, self.call.sid)
                call_events.event("sip.invite_sent", to=target.request_uri)
            except Exception as exc:  # the stack refused the INVITE (e.g. an unresolvable host)
                log.warning("call %s: INVITE to %s failed: %s", self.call.sid, target.request_uri, exc)
                fork.over = True
                self.failure_codes.append(500)
                await self.notify(13224, f"Could not send the INVITE to {target.request_uri}: {exc}")
        if all(fork.over for fork in self.forks):
            await self.finish(self._status_for_failures(), self._failure_cause())

    async def on_leg_event(self, fork: Fork, event: LegEvent) -> None:
        if isinstance(event, Ringing):
            if self.call.status == CallStatus.QUEUED and event.code in (180, 183):
                self.state.set_status(CallStatus.RINGING)
                self.send_callback("ringing")
        elif isinstance(event, Answered):
            await self._on_answer(fork, event)
        elif isinstance(event, Failed):
            fork.over = True
            if event.reached:
                self.failure_codes.append(event.code)
            else:
                await self._not_reached(fork, event)
            if self.winner is None and all(f.over for f in self.forks):
                await self.finish(self._status_for_failures(), self._failure_cause())
        elif isinstance(event, Ended):
            fork.over = True
            if fork is self.winner:
                await self.finish(CallStatus.COMPLETED, "hung up by the callee" if event.by_remote else "hung up")
        elif isinstance(event, Reoffered) and fork is self.winner:
            if self.media is not None:
                self.services.media.reoffered(self.media, event.sdp)
            self.note_remote_sdp(event.sdp)

    async def _on_answer(self, fork: Fork, event: Answered) -> None:
        if self.winner is not None:
            # Two devices answered at once: the later one is hung up at once.
            await fork.leg.hangup()
            return
        if self.media is not None and not event.sdp:
            await self._answered_without_sdp(fork)
            return
        self.winner = fork
        if self.media is not None and event.sdp:
            self.services.media.connect(self.media, event.sdp)
        self.note_remote_sdp(event.sdp)
        await self.mark_answered()
        for other in self.forks:
            if other is not fork and not other.over and other.leg is not None:
                await other.leg.hangup()
        await self.on_connected()

    async def _not_reached(self, fork: Fork, event: Failed) -> None:
        """Nothing came back from the destination: never reached is `failed` (fix the data), not `no-answer`
        (it rang and nobody answered: try again later)."""
        self.failure_codes.append(UNREACHED)
        target = fork.target
        hop = target.next_hop or _uri_host_port(target.request_uri)
        where = f" (sent to {hop[0]}:{hop[1]})" if hop else ""
        log.warning("call %s: INVITE to %s%s got no response: %s", self.call.sid, target.request_uri, where,
                    event.reason)
        await self.notify(13225, f"The INVITE to {target.request_uri}{where} got no response: {event.reason}")

    async def _answered_without_sdp(self, fork: Fork) -> None:
        """A 200 OK to our offer with no SDP in it: a protocol error (RFC 3264 puts the answer in the 200).

        There is no media to run the call on. sippy has ACKed the 200; our BYE ends the dialog. The device does
        not win: other forks ring on, and when none is left the call ends `failed`.
        """
        fork.over = True
        await fork.leg.hangup()
        target = fork.target.request_uri
        log.warning("call %s: %s answered 200 OK without SDP; sent ACK and BYE", self.call.sid, target)
        await self.notify(13226, f"{target} answered 200 OK without an SDP answer to our offer (a protocol "
                                 "error): the call was acknowledged and hung up (BYE)")
        if all(f.over for f in self.forks):
            await self.finish(CallStatus.FAILED, "200 OK without SDP")

    async def on_connected(self) -> None:
        """A call placed through the API runs its application once answered; with MachineDetection (and
        without AsyncAmd), once the detection has a result."""
        if self.request.recording is not None and self.media is not None:
            self.recording = CallRecording(self.services, self.call, self.media, self.request.recording)
        detection = self.request.machine_detection
        if detection is not None:
            self.start_detection(detection)
        if self.request.send_digits:
            # Twilio's SendDigits: the keys go to the callee as it answers, then its application runs (in the
            # session, so a hang-up or redirect stops them). Twilio ignores MachineDetection with it, and so
            # does the handler.
            digits = self.request.send_digits
            self.run_application(self.source, first=lambda: send_digits_to(self, digits))
        elif detection is None or detection.asynchronous:
            self.run_application(self.source)

    async def on_ring_timeout(self) -> None:
        if self.winner is None:
            await self.finish(CallStatus.NO_ANSWER, f"no answer within {self.call.timeout} s")

    def _failure_cause(self) -> str:
        causes = ["no response" if code == UNREACHED else str(code) for code in self.failure_codes]
        return "SIP " + ", ".join(causes) if causes else "failed"

    def _status_for_failures(self) -> CallStatus:
        statuses = {status_for_failure(code) for code in self.failure_codes}
        for preferred in (CallStatus.BUSY, CallStatus.NO_ANSWER):
            if preferred in statuses:
                return preferred
        return CallStatus.FAILED

    async def hang_up_legs(self) -> None:
        if self.recording is not None:
            self.recording.stop()  # before the media closes: the recording ends with the call
        for fork in self.forks:
            if fork.leg is not None and not fork.over:
                await fork.leg.hangup()
        self.close_media()

    # --- requests from verbs and the API --------------------------------------------------------------------

    async def answer_call(self) -> None:
        """An outbound call runs its application only once answered."""

    async def reject_call(self, code: int, reason: str) -> None:
        await self.hangup_call()

    async def hangup_call(self) -> None:
        await self.finish(CallStatus.COMPLETED if self.winner is not None else CallStatus.CANCELED, "hung up by us")

    async def fail_call(self, reason: str) -> None:
        await self.hangup_call()

    async def apply_change(self, change: CallChange) -> None:
        answered = self.winner is not None
        if change.status == CallStatus.COMPLETED:
            await self.hangup_call()
            return
        if change.status == CallStatus.CANCELED and not answered:
            await self.finish(CallStatus.CANCELED, "canceled through the API")
            return
        await self.change_live_call(change, answered=answered)


async def send_digits_to(owner: CallOwner, digits: str) -> None:
    """Sends `digits` on the owner's media (RFC 4733); a callee that negotiated no telephone-event gets none,
    with a Notification, and the call goes on."""
    try:
        await send_keys(owner.media, digits)
    except RuntimeError as exc:  # no telephone-event payload type in the SDP answer
        await owner.notify(13251, f"The digits {digits} were not sent: {exc}", LogLevel.WARNING)


def _uri_host_port(uri: str) -> tuple[str, int] | None:
    """`sip:bob@127.0.0.1:5099;transport=udp` -> ("127.0.0.1", 5099); None when it has no host."""
    host_part = uri.split("@", 1)[-1].split(";", 1)[0].split("?", 1)[0]
    if host_part.startswith("sip:"):
        host_part = host_part[4:]
    host, _, port = host_part.partition(":")
    if not host:
        return None
    return host, int(port) if port.isdigit() else 5060

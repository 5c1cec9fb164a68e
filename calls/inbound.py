"""The owner of a call that came in: ring back, fetch the application, answer when a verb needs it.

The document is fetched while the caller hears ringing, so `<Reject>` can refuse the call without ever
answering it (603 Decline or 486 Busy Here). Every other verb answers first. `<Hangup>` on a call not yet
answered answers and hangs up, as Twilio does; only `<Reject>` leaves a call unanswered.
"""

from __future__ import annotations

from typing import Any

from calls.owner import CallOwner
from calls.services import Services
from calls.types import CallChange, CallEnded
from models import Call, CallStatus
from rcml.session import Source
from sip.events import Confirmed, Ended, LegEvent, Reoffered
from sip.media import PortPoolExhausted
from sip.sdp import SdpError

# What a caller refused for lack of capacity (503) is told to wait before trying again.
RETRY_AFTER_S = 5


class InboundOwner(CallOwner):
    def __init__(self, services: Services, call: Call, leg: Any, *, source: Source, callback_url: str | None,
                 callback_method: str, sip_header_parameters: dict[str, str]) -> None:
        super().__init__(services, call, source=source, callback_url=callback_url, callback_method=callback_method,
                         callback_events=frozenset({"completed"}), sip_header_parameters=sip_header_parameters)
        self.leg = leg
        self.refused = False

    async def begin(self) -> None:
        self.leg.set_event_sink(self.sink_for(self.leg))
        await self.leg.ring(180)
        self.run_application(self.source)

    async def on_leg_event(self, leg: Any, event: LegEvent) -> None:
        if isinstance(event, Confirmed):
            if self.media is not None:
                if event.sdp and not self.leg.sdp_offer:
                    # An INVITE without SDP: the ACK has the caller's answer to the offer our 200 made.
                    self.services.media.connect(self.media, event.sdp)
                    self.note_remote_sdp(event.sdp)
                self.media.confirm()
        elif isinstance(event, Ended):
            # The caller hung up: before we answered that is a caller's cancel.
            await self.finish(CallStatus.COMPLETED if self.answered_at else CallStatus.CANCELED,
                              "hung up by the caller")
        elif isinstance(event, Reoffered):
            if self.media is not None:
                self.services.media.reoffered(self.media, event.sdp)
            self.note_remote_sdp(event.sdp)

    async def hang_up_legs(self) -> None:
        if not self.refused:
            await self.leg.hangup()
        self.close_media()

    async def answer_call(self) -> None:
        if self.answered_at is not None:
            return
        try:
            media = await self.open_media()
        except PortPoolExhausted as exc:
            # Every RTP port is taken: the caller gets a final answer now (and may try again), the row an end.
            await self.notify(13226, f"Cannot answer: {exc}")
            await self._refuse(CallStatus.FAILED, 503, "Service Unavailable", retry_after=RETRY_AFTER_S)
            raise CallEnded(self.call.status) from None
        try:
            answer = self.services.media.answer(media, self.leg.sdp_offer)
        except SdpError as exc:
            await self.notify(13227, f"Cannot answer: {exc}")
            await self._refuse(CallStatus.FAILED, 488, "Not Acceptable Here")
            raise CallEnded(self.call.status) from None
        # Nothing is sent to the offer's address before the caller confirms it (ACK) or sends from it: an
        # INVITE with a forged source could otherwise aim our audio at a third party.
        media.hold_until_confirmed()
        await self.leg.answer(answer)
        self.note_remote_sdp(self.leg.sdp_offer)
        await self.mark_answered()

    async def reject_call(self, code: int, reason: str) -> None:
        await self._refuse(CallStatus.BUSY, code, reason)

    async def _refuse(self, status: CallStatus, code: int, reason: str, *, retry_after: int | None = None) -> None:
        """Final status first, then the SIP answer: whoever hears the refusal finds the call already ended."""
        self.refused = True
        await self.finish(status, f"refused with SIP {code}")
        await self.leg.reject(code, reason, retry_after=retry_after)

    async def hangup_call(self) -> None:
        if self.answered_at is None:
            await self.answer_call()
        await self.finish(CallStatus.COMPLETED, "hung up by us")

    async def fail_call(self, reason: str) -> None:
        if self.answered_at is None:
            await self._refuse(CallStatus.FAILED, 500, "Server Internal Error")
        else:
            await self.finish(CallStatus.COMPLETED, f"the application failed: {reason}")

    @property
    def runs_before_answer(self) -> bool:
        return True

    async def apply_change(self, change: CallChange) -> None:
        answered = self.answered_at is not None
        if change.status == CallStatus.COMPLETED or (change.status == CallStatus.CANCELED and not answered):
            if not answered:
                # Not answered yet: the caller gets a final "request terminated" and the call ends canceled.
                await self.finish(CallStatus.CANCELED, "canceled through the API")
            else:
                await self.finish(CallStatus.COMPLETED, "hung up through the API")
            return
        await self.change_live_call(change, answered=answered)

"""A leg placed by <Dial>: a call of its own (its row, status, callbacks), connected by its parent's Dial.

It rings like a call placed through the API, but on answer it runs no application: it tells the Dial
verb of its parent call, which bridges the two (with machineDetection on its noun, once the result is
known: the leg's AnsweredBy is on its row and in its callbacks). Its progress goes to the Dial verb as reports.
"""

from __future__ import annotations

from collections.abc import Callable

from calls.outbound import OutboundOwner
from calls.services import Services
from calls.types import CallChange, CallRequest
from models import Call, CallStatus

# What a dialled leg reports to its Dial: "answered", then "ended" (its final status is on its call row);
# or "left" when a redirect from the API took it out of the Dial while it was still ringing.
Report = Callable[["DialledLegOwner", str], None]


class DialledLegOwner(OutboundOwner):
    def __init__(self, services: Services, call: Call, request: CallRequest, report: Report) -> None:
        super().__init__(services, call, request)
        self.report = report
        self.left_dial = False

    async def on_connected(self) -> None:
        detection = self.request.machine_detection
        if self.left_dial:
            await super().on_connected()
        elif detection is not None and not detection.asynchronous:
            self.start_detection(detection)  # the Dial connects it once the result is known: on_detected
        else:
            if detection is not None:
                self.start_detection(detection)
            self.report(self, "answered")

    async def on_detected(self) -> None:
        if self.left_dial:
            await super().on_detected()
        else:
            self.report(self, "answered")

    async def apply_change(self, change: CallChange) -> None:
        if change.url is not None and change.status is None and self.winner is None and not self.left_dial:
            # Redirected while ringing: it leaves the Dial (which goes on ringing the others) and runs the new
            # document when it answers, as a call placed through the API would.
            self.left_dial = True
            self.report(self, "left")
        await super().apply_change(change)

    async def finish(self, status: CallStatus, cause: str = "") -> None:
        if self.finished:
            return
        await super().finish(status, cause)
        self.report(self, "ended")

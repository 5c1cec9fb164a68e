"""<Reject>: refuse an inbound call without answering it: 603 Decline, or 486 Busy Here with reason="busy"."""

from __future__ import annotations

from typing import ClassVar

from rcml.call_control import CallControl
from rcml.verbs.base import Attribute, Outcome, Stop, Verb, one_of

# SIP response for each <Reject reason>: 603 Decline for "rejected", 486 Busy Here for "busy".
REJECT_RESPONSES = {"rejected": (603, "Decline"), "busy": (486, "Busy Here")}


class Reject(Verb):
    name: ClassVar[str] = "Reject"
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("reason", one_of("rejected", "busy"), default="rejected", error_code=13710),
    )

    async def run(self, call: CallControl) -> Outcome:
        if call.answered or not call.inbound:
            # Only an inbound call not yet answered can be refused; anything else simply ends.
            await call.warn(13711, "<Reject> applies only to an inbound call before it is answered; hanging up")
            await call.hangup()
            return Stop()
        code, reason = REJECT_RESPONSES[self.values["reason"]]
        await call.reject(code, reason)
        return Stop()

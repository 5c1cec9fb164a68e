"""The verbs that need no media: Hangup, Reject, Pause, Redirect."""

from __future__ import annotations

import asyncio
from typing import ClassVar
from urllib.parse import urljoin

from rcml.verbs.base import (
    Attribute,
    CallControl,
    Continue,
    Outcome,
    Redirect,
    Stop,
    Verb,
    http_method,
    non_negative_int,
    one_of,
)

# The longest <Pause> honoured; Twilio caps it the same way, a longer one is almost surely a typo.
MAX_PAUSE_SECONDS = 600


class Hangup(Verb):
    name: ClassVar[str] = "Hangup"

    async def run(self, call: CallControl) -> Outcome:
        await call.hangup()
        return Stop()


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


def pause_length(raw: str) -> int:
    value = non_negative_int(raw)
    if value > MAX_PAUSE_SECONDS:
        raise ValueError(f"must be at most {MAX_PAUSE_SECONDS}")
    return value


class Pause(Verb):
    name: ClassVar[str] = "Pause"
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("length", pause_length, default=1, error_code=13910),
    )

    async def run(self, call: CallControl) -> Outcome:
        await call.answer()
        await asyncio.sleep(self.values["length"])
        return Continue()


class RedirectVerb(Verb):
    name: ClassVar[str] = "Redirect"
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("method", http_method, default="POST", error_code=13410),
    )

    async def run(self, call: CallControl) -> Outcome:
        target = self.node.text
        if not target:
            await call.warn(13411, "<Redirect> has no URL; the document goes on")
            return Continue()
        return Redirect(urljoin(call.document_url, target), self.values["method"])

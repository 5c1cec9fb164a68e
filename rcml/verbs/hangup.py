"""<Hangup>: end the call (an inbound call not answered yet is answered first, as Twilio does)."""

from __future__ import annotations

from typing import ClassVar

from rcml.call_control import CallControl
from rcml.verbs.base import Outcome, Stop, Verb


class Hangup(Verb):
    name: ClassVar[str] = "Hangup"

    async def run(self, call: CallControl) -> Outcome:
        await call.hangup()
        return Stop()

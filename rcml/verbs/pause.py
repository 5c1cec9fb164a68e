"""<Pause>: answer, then wait `length` seconds."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rcml.call_control import CallControl
from rcml.verbs.base import Attribute, Continue, Outcome, Verb, non_negative_int

# The longest <Pause> honoured; Twilio caps it the same way, a longer one is almost surely a typo.
MAX_PAUSE_SECONDS = 600


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

"""<Play>: a WAV file from a URL into the call (looped), or key presses (`digits`)."""

from __future__ import annotations

import asyncio
from typing import ClassVar
from urllib.parse import urljoin

from rcml.audio import AudioError
from rcml.call_control import CallControl
from rcml.verbs.base import Attribute, Continue, Outcome, Verb, loops, play_repeatedly

# <Play digits>: "w" waits half a second between key presses (Twilio's notation).
_WAIT = "w"
_DIGITS = set("0123456789*#ABCD")


def digit_string(raw: str) -> str:
    if not raw or any(ch not in _DIGITS and ch != _WAIT for ch in raw):
        raise ValueError("must be digits 0-9, *, #, A-D, with w for a half-second wait")
    return raw


class Play(Verb):
    name: ClassVar[str] = "Play"
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("loop", loops, default=1, error_code=13410),
        Attribute("digits", digit_string, default=None, error_code=13412),
    )

    async def run(self, call: CallControl) -> Outcome:
        await call.answer()
        if self.values["digits"]:
            await self._send_digits(call, self.values["digits"])
            return Continue()
        if not self.node.text:
            await call.warn(13411, "<Play> has no URL; the document goes on")
            return Continue()
        try:
            prompt = await call.audio.fetch(urljoin(call.document_url, self.node.text), tenant=call.account_sid)
        except AudioError as exc:
            await call.warn(exc.code, f"<Play> skipped: {exc}")
            return Continue()
        await play_repeatedly(call, prompt, self.values["loop"])
        return Continue()

    @staticmethod
    async def _send_digits(call: CallControl, digits: str) -> None:
        for digit in digits:
            if digit == _WAIT:
                await asyncio.sleep(0.5)
            else:
                await call.media.send_dtmf(digit)

"""<Play> and <Say>: audio into the call, from a URL or from text."""

from __future__ import annotations

import asyncio
from typing import ClassVar
from urllib.parse import urljoin

from rcml.audio import AudioError
from rcml.verbs.base import Attribute, CallControl, Continue, Outcome, Verb, non_negative_int, one_of

# loop="0" means "until the call ends" (Twilio); a bound keeps a mistaken document from running forever.
MAX_LOOPS = 1000
# <Play digits>: "w" waits half a second between key presses (Twilio's notation).
_WAIT = "w"
_DIGITS = set("0123456789*#ABCD")


def loops(raw: str) -> int:
    value = non_negative_int(raw)
    return MAX_LOOPS if value == 0 else min(value, MAX_LOOPS)


def digit_string(raw: str) -> str:
    if not raw or any(ch not in _DIGITS and ch != _WAIT for ch in raw):
        raise ValueError("must be digits 0-9, *, #, A-D, with w for a half-second wait")
    return raw


async def play_repeatedly(call: CallControl, prompt, times: int) -> None:
    for _ in range(times):
        await call.media.play(prompt)


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
            prompt = await call.audio.fetch(urljoin(call.document_url, self.node.text))
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


VOICES = ("man", "woman", "alice")


def language(raw: str) -> str:
    # espeak-ng's names: "en", "en-gb", "es", "pt-br"...; anything else is refused by espeak itself.
    if not raw or len(raw) > 16 or not all(ch.isalnum() or ch == "-" for ch in raw):
        raise ValueError("must be a language code such as en, en-gb or es")
    return raw.lower()


class Say(Verb):
    name: ClassVar[str] = "Say"
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("voice", one_of(*VOICES), default="man", error_code=13511),
        Attribute("language", language, default="en", error_code=13512),
        Attribute("loop", loops, default=1, error_code=13510),
    )

    async def run(self, call: CallControl) -> Outcome:
        await call.answer()
        if not self.node.text:
            return Continue()
        try:
            prompt = await call.audio.speak(self.node.text, self.values["voice"], self.values["language"])
        except AudioError as exc:
            await call.warn(exc.code, f"<Say> skipped: {exc}")
            return Continue()
        await play_repeatedly(call, prompt, self.values["loop"])
        return Continue()

"""<Play>: a WAV file from a URL into the call (looped), or key presses (`digits`)."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urljoin

from rcml.audio import AudioError
from rcml.call_control import CallControl
from rcml.verbs.base import Attribute, Continue, Outcome, Verb, loops, play_repeatedly
from sip.media.key_presses import KEYS_WITH_LETTERS, key_string, send_keys


def digit_string(raw: str) -> str:
    # <Play digits>: 0-9, *, #, A-D, with "w" for a half-second wait (Twilio's notation).
    return key_string(raw, KEYS_WITH_LETTERS)


class Play(Verb):
    name: ClassVar[str] = "Play"
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("loop", loops, default=1, error_code=13410),
        Attribute("digits", digit_string, default=None, error_code=13412),
    )

    async def run(self, call: CallControl) -> Outcome:
        await call.answer()
        if self.values["digits"]:
            await send_keys(call.media, self.values["digits"])
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

"""<Say>: text to speech (espeak-ng) into the call, looped."""

from __future__ import annotations

from typing import ClassVar

from rcml.audio import AudioError
from rcml.call_control import CallControl
from rcml.verbs.base import Attribute, Continue, Outcome, Verb, loops, one_of, play_repeatedly

VOICES = ("man", "woman", "alice")
# Twilio's neural voices (`Polly.Joanna`, `Google.en-US-Standard-C`): spoken by espeak-ng's woman voice, so a
# TwiML document written for them runs without a Notification.
_NAMED_VOICE_PREFIXES = ("Polly.", "Google.")


def voice(raw: str) -> str:
    if raw.startswith(_NAMED_VOICE_PREFIXES) and len(raw) <= 64:
        return "woman"
    return one_of(*VOICES)(raw)


def language(raw: str) -> str:
    # espeak-ng's names: "en", "en-gb", "es", "pt-br"...; anything else is refused by espeak itself.
    if not raw or len(raw) > 16 or not all(ch.isalnum() or ch == "-" for ch in raw):
        raise ValueError("must be a language code such as en, en-gb or es")
    return raw.lower()


class Say(Verb):
    name: ClassVar[str] = "Say"
    attributes: ClassVar[tuple[Attribute, ...]] = (
        Attribute("voice", voice, default="man", error_code=13511),
        Attribute("language", language, default="en", error_code=13512),
        Attribute("loop", loops, default=1, error_code=13510),
    )

    async def run(self, call: CallControl) -> Outcome:
        await call.answer()
        if not self.node.text:
            return Continue()
        try:
            prompt = await call.audio.speak(self.node.text, self.values["voice"], self.values["language"],
                                            tenant=call.account_sid)
        except AudioError as exc:
            await call.warn(exc.code, f"<Say> skipped: {exc}")
            return Continue()
        await play_repeatedly(call, prompt, self.values["loop"])
        return Continue()

"""<Dial><Conference>: join a conference room of this account, until leaving it (calls/rooms.py).

Attributes of <Conference>: muted, beep, startConferenceOnEnter, endConferenceOnExit, waitUrl (Play/Say
audio, or a WAV file, looped while the room waits to start), maxParticipants. When the caller leaves the
room (removed through the API, or the room ended) the Dial's `action` is requested, or the document goes on.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urljoin

from rcml.audio import AudioError
from rcml.call_control import CallControl, RoomOptions
from rcml.documents import FetchFailed
from rcml.parser import Node
from rcml.verbs.base import (
    Attribute,
    Continue,
    Outcome,
    Redirect,
    boolean,
    http_method,
    positive_int,
    read_attributes,
)
from sip.media.prompt import Prompt

MAX_PARTICIPANTS = 250
# A waitUrl ending so is an audio file; anything else is an RCML document whose <Play>/<Say> are played.
_AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".aif", ".aiff", ".aifc", ".au", ".gsm")
CONFERENCE_ATTRIBUTES = (
    Attribute("muted", boolean, default=False, error_code=13231),
    Attribute("beep", boolean, default=True, error_code=13232),
    Attribute("startConferenceOnEnter", boolean, default=True, error_code=13233),
    Attribute("endConferenceOnExit", boolean, default=False, error_code=13234),
    Attribute("waitUrl", str, default=None, error_code=13235),
    Attribute("waitMethod", http_method, default="POST", error_code=13236),
    Attribute("maxParticipants", lambda raw: min(positive_int(raw), MAX_PARTICIPANTS), default=40,
              error_code=13237),
)


async def join(call: CallControl, noun: Node, dial: dict[str, Any]) -> Outcome:
    values, problems = read_attributes(noun, CONFERENCE_ATTRIBUTES)
    for code, message in problems:
        await call.warn(code, message)
    name = noun.text.strip()
    if not name:
        await call.warn(13230, "<Conference> has no room name; the document goes on")
        return Continue()
    await call.answer()
    options = RoomOptions(
        muted=values["muted"] or call.muted, beep=values["beep"],
        start_conference_on_enter=values["startConferenceOnEnter"],
        end_conference_on_exit=values["endConferenceOnExit"], max_participants=values["maxParticipants"],
        wait_audio=await room_audio(call, values["waitUrl"], values["waitMethod"]),
    )
    left = await call.join_room(name, options)
    if left.how == "full":
        await call.warn(13238, left.reason)
    elif left.how == "unreachable":
        await call.warn(13239, left.reason)
    if not dial["action"]:
        return Continue()
    status = "failed" if left.how in ("full", "unreachable") else "completed"
    return Redirect(urljoin(call.document_url, dial["action"]), dial["method"],
                    {"DialCallStatus": status, "DialCallSid": "", "DialCallDuration": "0",
                     "ConferenceSid": left.conference_sid})


async def _wait_file(call: CallControl, url: str) -> tuple[Prompt, ...]:
    try:
        return (await call.audio.fetch(url, tenant=call.account_sid),)
    except AudioError as exc:
        await call.warn(exc.code, f"waitUrl skipped: {exc}")
        return ()


async def room_audio(call: CallControl, wait_url: str | None, method: str) -> tuple[Prompt, ...]:
    """The prompts of waitUrl (or a participant's HoldUrl): an audio file, or an RCML document whose <Play> and
    <Say> are taken in order."""
    if not wait_url:
        return ()
    url = urljoin(call.document_url, wait_url)
    if url.lower().split("?", 1)[0].endswith(_AUDIO_EXTENSIONS) or call.audio.has(url):
        return await _wait_file(call, url)
    try:
        document = await call.fetch_document(url, method)
    except FetchFailed as failure:
        # Not RCML, or too big for a document: it may be an audio file at a URL that does not say so. The
        # bytes decide; a file that does not decode either is reported as the document that failed.
        if failure.code in (12100, 11750):
            with contextlib.suppress(AudioError):
                return (await call.audio.fetch(url, tenant=call.account_sid),)
        await call.report_fetch_failure(failure)
        return ()
    prompts = []
    for verb in document.root.children:
        try:
            if verb.name == "Play" and verb.text:
                prompts.append(await call.audio.fetch(urljoin(url, verb.text), tenant=call.account_sid))
            elif verb.name == "Say" and verb.text:
                prompts.append(await call.audio.speak(verb.text, verb.attributes.get("voice", "woman"),
                                                      verb.attributes.get("language", "en"), tenant=call.account_sid))
        except AudioError as exc:
            await call.warn(exc.code, f"waitUrl audio skipped: {exc}")
    return tuple(prompts)

"""Record and its Recording* create parameters (Twilio's names, in both dialects) as the engine's
RecordingOptions; the spec has already checked each value, what is left here is how they combine."""

from __future__ import annotations

import re
from typing import Any

from calls.types import RecordingOptions

_EVENTS = ("in-progress", "completed", "absent")
_SEPARATORS = re.compile(r"[\s,]+")


def recording_options(body: dict[str, Any]) -> RecordingOptions | None:
    """The whole-call recording asked for, or None (Record absent or false: the other Recording* parameters
    are then ignored, as Twilio ignores them)."""
    if str(body.get("Record", "false")).lower() != "true":
        return None
    return RecordingOptions(
        channels=2 if body.get("RecordingChannels") == "dual" else 1,
        track=body.get("RecordingTrack") or "both",
        trim=body.get("Trim", "trim-silence") != "do-not-trim",
        status_callback=body.get("RecordingStatusCallback") or None,
        status_callback_method=body.get("RecordingStatusCallbackMethod") or "POST",
        status_callback_events=recording_events(body.get("RecordingStatusCallbackEvent")),
    )


def recording_events(raw: list[str] | str | None) -> tuple[str, ...]:
    """Events given repeated or separated by spaces; `completed` when none is named."""
    values = [raw] if isinstance(raw, str) else raw or []
    named = {event for value in values for event in _SEPARATORS.split(value) if event}
    return tuple(event for event in _EVENTS if event in named) or ("completed",)

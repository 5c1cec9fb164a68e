"""Dialling a new participant into a room (POST Conferences/{ConferenceSid}/Participants.json, Twilio's shape).

The new participant is an ordinary outbound call (a row in both dialects, the account's limits, its status
callbacks) whose document is an inline `<Response><Dial><Conference ...>room</Conference></Dial></Response>`
built from the request's options: once the callee answers, the same `<Conference>` verb every caller runs
puts it into the room. Nothing new in the engine, so a dialled-in participant and one that dialled in itself
cannot behave differently.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from calls.types import CallRequest
from handlers.twilio.calls import call_request

# Request parameter -> <Conference> attribute, for those given as they are.
_ROOM_ATTRIBUTES = {
    "Muted": "muted",
    "Beep": "beep",
    "StartConferenceOnEnter": "startConferenceOnEnter",
    "EndConferenceOnExit": "endConferenceOnExit",
    "WaitUrl": "waitUrl",
    "WaitMethod": "waitMethod",
    "MaxParticipants": "maxParticipants",
}

# Not Twilio parameters of this operation, but POST Calls.json's: the call's document is the room's, whatever
# else the request says.
_NOT_FOR_THE_CALL = ("Url", "Twiml", "Method", "FallbackUrl", "FallbackMethod")


def room_document(name: str, body: dict[str, Any]) -> str:
    """The TwiML the new call runs once answered: join `name` with the options the request gave."""
    attributes = "".join(f" {attribute}={quoteattr(_attribute_text(body[parameter]))}"
                         for parameter, attribute in _ROOM_ATTRIBUTES.items() if parameter in body)
    return f"<Response><Dial><Conference{attributes}>{escape(name)}</Conference></Dial></Response>"


def _attribute_text(value: Any) -> str:
    if isinstance(value, bool):  # connexion has already made `Muted=true` a bool
        return "true" if value else "false"
    return str(value)


def participant_call(body: dict[str, Any], document_url: str) -> CallRequest:
    """The call to place: Twilio's call parameters (From, To, CallerId, Timeout, StatusCallback*, SipAuth*)
    read as for POST Calls.json, its document the room's."""
    call_parameters = {key: value for key, value in body.items() if key not in _NOT_FOR_THE_CALL}
    request_ = call_request(call_parameters | {"Url": document_url})
    return dataclasses.replace(request_, url=document_url)

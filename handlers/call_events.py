"""A call's Events (GET Calls/{CallSid}/Events): each request made to its application and the response, the
RestComm dialect's twin of Twilio's Call Events (handlers/twilio/events.py renders the same rows)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson

from handlers import call_logs, context
from handlers.listing import Resource
from handlers.render import Field, Fields, Format
from models import clock
from models.call_event import CallEvent


def parameters_of(event: CallEvent) -> dict[str, Any]:
    return orjson.loads(event.request_parameters)


def event_fields(event: CallEvent, fmt: Format) -> Fields:
    parameters = parameters_of(event)
    # In XML the parameters are one form-encoded text: their names (SipHeader_X-...) need not be XML names.
    shown: Any = urlencode(parameters)
    if fmt is Format.JSON:
        shown = [Field(name, name, value) for name, value in parameters.items()] or {}
    return [
        Field("sid", "Sid", event.sid),
        Field("account_sid", "AccountSid", event.account_sid),
        Field("call_sid", "CallSid", event.call_sid),
        Field("date_created", "DateCreated", clock.iso(event.date_created)),
        Field("kind", "Kind", event.kind),
        Field("request", "Request", [
            Field("method", "Method", event.request_method),
            Field("url", "Url", event.request_url),
            Field("parameters", "Parameters", shown),
        ]),
        Field("response", "Response", [
            Field("response_code", "ResponseCode", event.response_status),
            Field("content_type", "ContentType", event.response_content_type),
            Field("response_body", "ResponseBody", event.response_body),
            Field("request_duration", "RequestDuration", event.duration_ms),
            Field("error", "Error", event.error),
        ]),
    ]


EVENTS = Resource("events", "Events", "Event", event_fields)


async def events_of(account_sid: str, call_sid: str):
    """The call's events, once the ones still waiting to be written are written."""
    return await call_logs.rows_of(context.current().engine.events, CallEvent, account_sid, call_sid)


list_for_call_json, list_for_call_xml = call_logs.list_for_call(EVENTS, "Events", events_of)

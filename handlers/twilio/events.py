"""Call Events in the Twilio dialect (GET Calls/{CallSid}/Events.json): `request` and `response` per webhook."""

from __future__ import annotations

from typing import Any

from handlers import errors
from handlers.auth import authorize
from handlers.call_events import events_of, parameters_of
from handlers.calls import find_call
from handlers.twilio import render
from handlers.twilio.render import date
from models.call_event import CallEvent
from models.paging import UnknownAnchor, fetch_window


def event_json(event: CallEvent) -> dict[str, Any]:
    return {
        "sid": event.sid,
        "request": {"method": event.request_method, "url": event.request_url, "parameters": parameters_of(event)},
        "response": {
            "response_code": event.response_status,
            "content_type": event.response_content_type,
            "response_body": event.response_body,
            "request_duration": event.duration_ms,
            "date_created": date(event.date_created),
            "error": event.error,
        },
    }


async def list_events(AccountSid: str, CallSid: str, user: str, PageSize: int = 50, Page: int = 0,
                      PageToken: str | None = None):
    _, account = await authorize(user, AccountSid)
    call = await find_call(account.sid, CallSid)
    scope = await events_of(account.sid, call.sid)
    after_sid, before_sid = render.page_anchor(PageToken)
    try:
        window = await fetch_window(scope, scope, PageSize, offset=0 if PageToken else Page * PageSize,
                                    after_sid=after_sid, before_sid=before_sid)
    except UnknownAnchor:
        raise errors.not_found(f"PageToken {PageToken} names no event of this call") from None
    return render.page("events", f"/Accounts/{account.sid}/Calls/{call.sid}/Events.json",
                       [event_json(e) for e in window.items], window, size=PageSize, number=Page, filters=(),
                       token=PageToken, backwards=before_sid is not None)

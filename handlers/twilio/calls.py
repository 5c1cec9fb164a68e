"""Calls in the Twilio dialect: list, create, fetch, update, delete (twilio.yaml), over the engine and models the
RestComm dialect uses, so a call made through either is the same record in both."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from connexion import request

from calls.types import TWILIO_API_VERSION, CallChange, CallNotLive, CallRequest
from handlers import context, errors
from handlers.auth import authorize
from handlers.call_recording import recording_options
from handlers.calls import common_request_fields, find_call, place_call
from handlers.errors import ApiError, Code
from handlers.listing import parse_filters
from handlers.twilio import render
from handlers.twilio.render import PREFIX, date, formatted, text
from models import Call, list_filters, twiml_document
from models.call import delete_ended_call
from models.list_filters import restore_plus
from models.paging import UnknownAnchor, fetch_window
from rcml.machine_detection import MachineDetection
from rcml.parser import RcmlSyntaxError, parse

# Twilio's subresource keys and their paths (`user_defined_messages` -> `UserDefinedMessages`); those this
# server does not serve lead to its 404.
_SUBRESOURCES = {key: "".join(part.capitalize() for part in key.split("_")) for key in (
    "notifications", "recordings", "events", "feedback", "feedback_summaries", "payments", "siprec", "streams",
    "user_defined_message_subscriptions", "user_defined_messages")}


def call_json(call: Call) -> dict[str, Any]:
    path = f"{PREFIX}/Accounts/{call.account_sid}/Calls/{call.sid}"
    return {
        "sid": call.sid,
        "date_created": date(call.date_created),
        "date_updated": date(call.date_updated),
        "parent_call_sid": call.parent_call_sid,
        "account_sid": call.account_sid,
        "to": call.to_address,
        "to_formatted": formatted(call.to_address),
        "from": call.from_address,
        "from_formatted": formatted(call.from_address),
        "phone_number_sid": call.phone_number_sid,
        "status": call.status,
        "start_time": date(call.start_time),
        "end_time": date(call.end_time),
        "duration": text(call.duration),
        "price": call.price,
        "price_unit": call.price_unit,
        "direction": call.direction,
        # Twilio's value (`machine_end_beep`...), which the RestComm dialect shows as answered_by_detail.
        "answered_by": call.answered_by_detail,
        "annotation": None,
        "api_version": render.API_VERSION,
        "forwarded_from": call.forwarded_from,
        "group_sid": None,
        "caller_name": call.caller_name,
        "queue_time": "0",
        "trunk_sid": None,
        "uri": f"{path}.json",
        "subresource_uris": {key: f"{path}/{name}.json" for key, name in _SUBRESOURCES.items()},
    }


async def list_calls(AccountSid: str, user: str, PageSize: int = 50, Page: int = 0, PageToken: str | None = None):
    _, account = await authorize(user, AccountSid)
    filtering = parse_filters(list_filters.CALLS, day_filters(request.query_params))
    scope = Call.filter(account_sid=account.sid)
    after_sid, before_sid = render.page_anchor(PageToken)
    try:
        window = await fetch_window(scope, filtering.apply(scope), PageSize, offset=0 if PageToken else Page * PageSize,
                                    after_sid=after_sid, before_sid=before_sid)
    except UnknownAnchor:
        raise errors.not_found(f"PageToken {PageToken} names no call of this account") from None
    return render.page("calls", f"/Accounts/{account.sid}/Calls.json", [call_json(c) for c in window.items], window,
                       size=PageSize, number=Page, filters=filtering.given, token=PageToken,
                       backwards=before_sid is not None)


_MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2})T00:00(:00)?Z$")


def day_filters(query: Mapping[str, str]) -> dict[str, str]:
    """`StartTime=2026-01-01T00:00:00Z` means the day 2026-01-01: twilio-python sends a `date` that way, and an
    exact instant is no use as an equality filter. The `<` and `>` forms keep their instants."""
    params = dict(query)
    for key in ("StartTime", "EndTime"):
        if key in params and (match := _MIDNIGHT.match(params[key])):
            params[key] = match[1]
    return params


async def fetch_call(AccountSid: str, CallSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    return render.json(call_json(await find_call(account.sid, CallSid)))


async def create_call(AccountSid: str, user: str, body: dict[str, Any]):
    _, account = await authorize(user, AccountSid)
    request_ = call_request(body)
    if body.get("Twiml"):
        request_ = dataclasses.replace(request_, url=await inline_url(account.sid, body["Twiml"]))
    return render.json(call_json(await place_call(account, request_)), 201)


async def update_call(AccountSid: str, CallSid: str, user: str, body: dict[str, Any] | None = None):
    _, account = await authorize(user, AccountSid)
    body = body or {}
    call = await find_call(account.sid, CallSid)
    if body.get("Url") and body.get("Twiml"):
        raise errors.bad_request("Give Url or Twiml, not both", Code.URL_INVALID)
    url = await inline_url(account.sid, body["Twiml"]) if body.get("Twiml") else body.get("Url")
    change = CallChange(
        url=url, method=body.get("Method"), status=body.get("Status"),
        fallback_url=body.get("FallbackUrl"), fallback_method=body.get("FallbackMethod"),
        status_callback=body.get("StatusCallback"), status_callback_method=body.get("StatusCallbackMethod"),
        time_limit=body.get("TimeLimit"),
    )
    if change.is_empty:
        raise errors.bad_request("Nothing to change: give Url, Twiml, Status, FallbackUrl, StatusCallback or TimeLimit")
    try:
        call = await context.current().engine.modify_call(call, change)
    except CallNotLive as exc:
        # Twilio answers 400 here, not 409: SDK users catch TwilioRestException with status 400 and code 21220.
        raise ApiError(400, Code.CALL_STATE, exc.message) from None
    return render.json(call_json(call))


async def delete_call(AccountSid: str, CallSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    call = await find_call(account.sid, CallSid)
    if not await delete_ended_call(call.sid):
        raise ApiError(409, Code.CANNOT_DELETE_LIVE,
                       f"Call {call.sid} is {call.status}: hang it up before deleting its record")
    return render.response(b"", render.Format.JSON, 204)


# --- request parsing -----------------------------------------------------------------------------------
# twilio.yaml refuses the Twilio parameters this server cannot honour (`not` with the reason in `x-refused`),
# so what arrives here is what the engine can do.

async def inline_url(account_sid: str, twiml: str) -> str:
    """Stores an inline document (`Twiml=`) once it parses; the URL the call's session runs it from."""
    try:
        parse(twiml.encode("utf-8"))
    except RcmlSyntaxError as exc:
        raise errors.bad_request(f"Twiml is not a TwiML document: {exc}", Code.BAD_REQUEST) from None
    return await twiml_document.store(account_sid, twiml)


def call_request(body: dict[str, Any]) -> CallRequest:
    """The engine's request; with `Twiml`, its url is set by the caller once the document is stored."""
    if body.get("Url") and body.get("Twiml"):
        raise errors.bad_request("Give Url or Twiml, not both", Code.URL_INVALID)
    if not body.get("Url") and not body.get("Twiml"):
        raise errors.bad_request("Url is required (or Twiml)", Code.URL_INVALID)
    common = common_request_fields(body)  # first: a bad To is the error reported, as before anything else
    return CallRequest(
        from_=restore_plus(body.get("CallerId") or body["From"]),
        url=body.get("Url") or "",
        username=body.get("SipAuthUsername") or None,
        password=body.get("SipAuthPassword") or None,
        # Twilio ignores MachineDetection when SendDigits is given (its Call resource says so).
        machine_detection=None if body.get("SendDigits") else MachineDetection.from_form(body),
        send_digits=body.get("SendDigits") or None,
        time_limit=body.get("TimeLimit"),
        api_version=TWILIO_API_VERSION,
        recording=recording_options(body),
        **common,
    )

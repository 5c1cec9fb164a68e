"""The Calls resource: list, create, get and modify (contract sections 4-6 and 8)."""

from __future__ import annotations

import re
from typing import Any

from connexion import request

from calls.types import API_VERSION, CallChange, CallLimits, CallNotLive, CallRequest, TooManyCalls, UnknownClient
from handlers import context, errors
from handlers.auth import authorize
from handlers.call_recording import recording_options
from handlers.errors import Code
from handlers.listing import API_PREFIX, Resource, parse_filters
from handlers.render import Field, Fields, Format, twins
from models import Account, Call, clock, list_filters
from models.call_count import total_calls
from models.list_filters import restore_plus
from models.paging import page_request
from rcml.machine_detection import MachineDetection
from sip.destination import InvalidAddress, parse_destination
from telemetry.metrics import METRICS


def call_fields(call: Call, fmt: Format) -> Fields:
    path = f"{API_PREFIX}/Accounts/{call.account_sid}/Calls/{call.sid}"
    return [
        Field("sid", "Sid", call.sid),
        Field("date_created", "DateCreated", clock.iso(call.date_created)),
        Field("date_updated", "DateUpdated", clock.iso(call.date_updated)),
        Field("parent_call_sid", "ParentCallSid", call.parent_call_sid),
        Field("account_sid", "AccountSid", call.account_sid),
        Field("to", "To", call.to_address),
        Field("from", "From", call.from_address),
        Field("phone_number_sid", "PhoneNumberSid", call.phone_number_sid),
        Field("status", "Status", call.status),
        Field("start_time", "StartTime", clock.iso(call.start_time)),
        Field("end_time", "EndTime", clock.iso(call.end_time)),
        Field("duration", "Duration", call.duration),
        Field("price", "Price", call.price),
        Field("price_unit", "PriceUnit", call.price_unit),
        Field("direction", "Direction", call.direction),
        Field("answered_by", "AnsweredBy", call.answered_by),
        Field("answered_by_detail", "AnsweredByDetail", call.answered_by_detail),
        Field("api_version", "ApiVersion", API_VERSION),
        Field("forwarded_from", "ForwardedFrom", call.forwarded_from),
        Field("caller_name", "CallerName", call.caller_name),
        Field("muted", "Muted", call.muted),
        Field("uri", "Uri", path + fmt.suffix),
        Field("subresource_uris", "SubresourceUris", [
            Field("notifications", "Notifications", f"{path}/Notifications{fmt.suffix}"),
            Field("recordings", "Recordings", f"{path}/Recordings{fmt.suffix}"),
        ]),
    ]


CALLS = Resource("calls", "Calls", "Call", call_fields)


async def find_call(account_sid: str, call_sid: str) -> Call:
    call = await Call.of_account(call_sid, account_sid)
    if call is None:
        raise errors.not_found(f"Call {call_sid} was not found")
    return call


async def list_calls(fmt: Format, AccountSid: str, user: str, Page: int = 0, PageSize: int = 50,
                     AfterSid: str | None = None):
    _, account = await authorize(user, AccountSid)
    filtering = parse_filters(list_filters.CALLS, request.query_params)
    scope = Call.filter(account_sid=account.sid)
    # No filter but (maybe) Status: the maintained per-status counters give the total.
    by_status = filtering.only("Status")
    return await CALLS.page(
        fmt,
        path=f"/Accounts/{account.sid}/Calls",
        scope=scope,
        filtered=filtering.apply(scope),
        request=page_request(Page, PageSize, AfterSid),
        filters=filtering.given,
        count=(lambda: total_calls(account.sid, filtering.value("Status"))) if by_status else None,
    )


async def fetch_call(fmt: Format, AccountSid: str, CallSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    return CALLS.item(fmt, await find_call(account.sid, CallSid))


async def create_call(fmt: Format, AccountSid: str, user: str, body: dict[str, Any]):
    _, account = await authorize(user, AccountSid)
    return CALLS.item(fmt, await place_call(account, call_request(body)))


async def place_call(account: Account, call_request: CallRequest) -> Call:
    """The engine creates the call within the account's limits; both dialects' creates come here."""
    limits = CallLimits(account.calls_per_second, account.max_concurrent_calls)
    try:
        return await context.current().engine.create_call(account.sid, call_request, limits)
    except UnknownClient as exc:
        raise errors.bad_request(f"To is invalid: {exc}", Code.TO_INVALID) from None
    except TooManyCalls as exc:
        METRICS.limit_rejections.labels("concurrent_calls").inc()
        raise errors.too_many(str(exc)) from None


async def modify_call(fmt: Format, AccountSid: str, CallSid: str, user: str, body: dict[str, Any] | None = None):
    _, account = await authorize(user, AccountSid)
    call = await find_call(account.sid, CallSid)
    change = call_change(body or {})
    if change.is_empty:
        raise errors.bad_request(
            "Nothing to change: give Url, Status, Mute, FallbackUrl or StatusCallback"
        )
    try:
        call = await context.current().engine.modify_call(call, change)
    except CallNotLive as exc:
        raise errors.ApiError(409, Code.CALL_STATE, exc.message) from None
    return CALLS.item(fmt, call)


list_json, list_xml = twins(list_calls)
fetch_json, fetch_xml = twins(fetch_call)
fetch_json_alias = fetch_json
create_json, create_xml = twins(create_call)
modify_json, modify_xml = twins(modify_call)
modify_json_alias = modify_json


# --- request parsing -----------------------------------------------------------------------------------
# openapi.yaml's patterns already admit only what the code below can use (To, From, Url, events); what is
# left here is turning the form into the engine's request.

_EVENT_SEPARATORS = re.compile(r"[\s,]+")
EVENT_ORDER = ("initiated", "ringing", "answered", "completed")


def status_callback_events(raw: list[str] | str | None) -> tuple[str, ...]:
    """Events given repeated, or separated by spaces or commas (connexion splits the commas already)."""
    if not raw:
        return ("completed",)
    values = [raw] if isinstance(raw, str) else raw
    named = {event for value in values for event in _EVENT_SEPARATORS.split(value) if event}
    return tuple(event for event in EVENT_ORDER if event in named) or ("completed",)


def call_request(body: dict[str, Any]) -> CallRequest:
    common = common_request_fields(body)  # first: a bad To is the error reported, as before anything else
    return CallRequest(
        from_=restore_plus(body["From"]),
        url=body["Url"],
        username=body.get("Username") or None,
        password=body.get("Password") or None,
        machine_detection=MachineDetection.from_form(body),
        recording=recording_options(body),
        **common,
    )


def common_request_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The fields of a CallRequest both dialects' forms spell alike (handlers/twilio/calls.py uses it too): the
    destination, the document's method and fallback, the status callback and the ring timeout."""
    try:
        destination = parse_destination(restore_plus(body["To"]))
    except InvalidAddress as exc:
        # Unreachable for a To the spec's pattern admitted; kept so a gap between the two is a 400, not a 500.
        raise errors.bad_request(f"To is invalid: {exc}", Code.TO_INVALID) from None
    return {
        "to": destination,
        "method": body.get("Method", "POST"),
        "fallback_url": body.get("FallbackUrl"),
        "fallback_method": body.get("FallbackMethod", "POST"),
        "status_callback": body.get("StatusCallback"),
        "status_callback_method": body.get("StatusCallbackMethod", "POST"),
        "status_callback_events": status_callback_events(body.get("StatusCallbackEvent")),
        "timeout": int(body.get("Timeout", 60)),
    }


def call_change(body: dict[str, Any]) -> CallChange:
    return CallChange(
        url=body.get("Url"),
        method=body.get("Method"),
        status=body.get("Status"),
        fallback_url=body.get("FallbackUrl"),
        fallback_method=body.get("FallbackMethod"),
        status_callback=body.get("StatusCallback"),
        status_callback_method=body.get("StatusCallbackMethod"),
        move_connected_leg=body.get("MoveConnectedCallLeg"),
        mute=body.get("Mute"),
    )

"""Notifications (contract section 9): what went wrong in an account's calls, per call and per account."""

from __future__ import annotations

from connexion import request

from calls.types import API_VERSION
from handlers import errors
from handlers.auth import authorize
from handlers.calls import find_call
from handlers.lists import API_PREFIX, respond_with_page
from handlers.render import Field, Fields, Format, render_item, twins
from models import Notification, clock
from models.paging import page_request


def notification_fields(notification: Notification, fmt: Format) -> Fields:
    path = f"{API_PREFIX}/Accounts/{notification.account_sid}/Notifications/{notification.sid}"
    return [
        Field("sid", "Sid", notification.sid),
        Field("date_created", "DateCreated", clock.iso(notification.date_created)),
        Field("date_updated", "DateUpdated", clock.iso(notification.date_updated)),
        Field("account_sid", "AccountSid", notification.account_sid),
        Field("call_sid", "CallSid", notification.call_sid),
        Field("api_version", "ApiVersion", API_VERSION),
        Field("log", "Log", notification.log),
        Field("error_code", "ErrorCode", notification.error_code),
        Field("more_info", "MoreInfo", notification.more_info),
        Field("message_text", "MessageText", notification.message_text),
        Field("message_date", "MessageDate", clock.iso(notification.message_date)),
        Field("request_url", "RequestUrl", notification.request_url),
        Field("request_method", "RequestMethod", notification.request_method),
        Field("request_variables", "RequestVariables", notification.request_variables),
        Field("response_headers", "ResponseHeaders", notification.response_headers),
        Field("response_body", "ResponseBody", notification.response_body),
        Field("uri", "Uri", path + fmt.suffix),
    ]


async def list_for_call(fmt: Format, AccountSid: str, CallSid: str, user: str, Page: int = 0,
                        PageSize: int = 50, AfterSid: str | None = None):
    _, account = await authorize(user, AccountSid)
    call = await find_call(account.sid, CallSid)
    scope = Notification.filter(call_sid=call.sid)
    return await respond_with_page(
        fmt,
        path=f"/Accounts/{account.sid}/Calls/{call.sid}/Notifications",
        scope=scope,
        filtered=scope,
        request=page_request(Page, PageSize, AfterSid),
        json_key="notifications",
        xml_list_name="Notifications",
        xml_item_name="Notification",
        fields_of=notification_fields,
    )


async def list_notifications(fmt: Format, AccountSid: str, user: str, Page: int = 0, PageSize: int = 50,
                             AfterSid: str | None = None, Log: int | None = None, ErrorCode: int | None = None):
    _, account = await authorize(user, AccountSid)
    scope = Notification.filter(account_sid=account.sid)
    filtered = scope
    if Log is not None:
        filtered = filtered.filter(log=Log)
    if ErrorCode is not None:
        filtered = filtered.filter(error_code=ErrorCode)
    if "CallSid" in request.query_params:
        filtered = filtered.filter(call_sid=request.query_params["CallSid"])
    given = [(key, request.query_params[key]) for key in ("Log", "ErrorCode", "CallSid") if key in request.query_params]
    return await respond_with_page(
        fmt,
        path=f"/Accounts/{account.sid}/Notifications",
        scope=scope,
        filtered=filtered,
        request=page_request(Page, PageSize, AfterSid),
        filters=given,
        json_key="notifications",
        xml_list_name="Notifications",
        xml_item_name="Notification",
        fields_of=notification_fields,
    )


async def fetch_notification(fmt: Format, AccountSid: str, NotificationSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    notification = await Notification.get_or_none(sid=NotificationSid, account_sid=account.sid)
    if notification is None:
        raise errors.not_found(f"Notification {NotificationSid} was not found")
    return render_item(fmt, "Notification", notification_fields(notification, fmt))


list_for_call_json, list_for_call_xml = twins(list_for_call)
list_json, list_xml = twins(list_notifications)
fetch_json, fetch_xml = twins(fetch_notification)

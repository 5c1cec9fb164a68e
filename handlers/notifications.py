"""Notifications (contract section 9): what went wrong in an account's calls, per call and per account."""

from __future__ import annotations

from connexion import request

from calls.types import API_VERSION
from handlers import errors
from handlers.auth import authorize
from handlers.calls import find_call
from handlers.listing import API_PREFIX, Resource, parse_filters
from handlers.render import Field, Fields, Format, twins
from models import Notification, clock, list_filters
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


NOTIFICATIONS = Resource("notifications", "Notifications", "Notification", notification_fields)


async def list_for_call(fmt: Format, AccountSid: str, CallSid: str, user: str, Page: int = 0,
                        PageSize: int = 50, AfterSid: str | None = None):
    _, account = await authorize(user, AccountSid)
    call = await find_call(account.sid, CallSid)
    scope = Notification.filter(call_sid=call.sid)
    return await NOTIFICATIONS.page(fmt, path=f"/Accounts/{account.sid}/Calls/{call.sid}/Notifications",
                                    scope=scope, request=page_request(Page, PageSize, AfterSid))


async def list_notifications(fmt: Format, AccountSid: str, user: str, Page: int = 0, PageSize: int = 50,
                             AfterSid: str | None = None):
    _, account = await authorize(user, AccountSid)
    scope = Notification.filter(account_sid=account.sid)
    filtering = parse_filters(list_filters.NOTIFICATIONS, request.query_params)
    return await NOTIFICATIONS.page(
        fmt, path=f"/Accounts/{account.sid}/Notifications", scope=scope, filtered=filtering.apply(scope),
        request=page_request(Page, PageSize, AfterSid), filters=filtering.given,
    )


async def fetch_notification(fmt: Format, AccountSid: str, NotificationSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    notification = await Notification.get_or_none(sid=NotificationSid, account_sid=account.sid)
    if notification is None:
        raise errors.not_found(f"Notification {NotificationSid} was not found")
    return NOTIFICATIONS.item(fmt, notification)


list_for_call_json, list_for_call_xml = twins(list_for_call)
list_json, list_xml = twins(list_notifications)
fetch_json, fetch_xml = twins(fetch_notification)
# RestComm's `X.json/{Sid}` spelling of the same item (its SDK and docs use it).
fetch_json_alias = fetch_json

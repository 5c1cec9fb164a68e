"""Recordings and Notifications in the Twilio dialect: the rows the RestComm dialect lists, Twilio's shapes."""

from __future__ import annotations

import math
from typing import Any

from connexion import request
from connexion.lifecycle import ConnexionResponse

from handlers import context, errors
from handlers.auth import authorize
from handlers.calls import find_call
from handlers.listing import parse_filters
from handlers.recordings import find_recording
from handlers.twilio import render
from handlers.twilio.render import PREFIX, date
from models import Notification, Recording, list_filters
from models.paging import UnknownAnchor, fetch_window


def recording_json(recording: Recording) -> dict[str, Any]:
    path = f"{PREFIX}/Accounts/{recording.account_sid}/Recordings/{recording.sid}"
    return {
        "sid": recording.sid,
        "account_sid": recording.account_sid,
        "call_sid": recording.call_sid,
        "conference_sid": None,
        "api_version": render.API_VERSION,
        "date_created": date(recording.date_created),
        "date_updated": date(recording.date_updated),
        "start_time": date(recording.start_time or recording.date_created),
        # Twilio counts whole seconds, rounded up: a 0.4 s recording is "1".
        "duration": str(math.ceil(recording.duration)),
        "price": None,
        "price_unit": "USD",
        "status": "completed",
        "channels": recording.channels,
        "source": recording.source,
        "error_code": None,
        "encryption_details": None,
        "uri": f"{path}.json",
        # The audio, at the path Twilio gives it (without the .json); `.wav` is served.
        "media_url": f"{path}",
        "subresource_uris": {"transcriptions": f"{path}/Transcriptions.json",
                             "add_on_results": f"{path}/AddOnResults.json"},
    }


def notification_json(notification: Notification) -> dict[str, Any]:
    return {
        "sid": notification.sid,
        "account_sid": notification.account_sid,
        "call_sid": notification.call_sid,
        "api_version": render.API_VERSION,
        "date_created": date(notification.date_created),
        "date_updated": date(notification.date_updated),
        "error_code": str(notification.error_code),
        "log": str(notification.log),
        "message_date": date(notification.message_date),
        "message_text": notification.message_text,
        "more_info": notification.more_info or f"https://www.twilio.com/docs/errors/{notification.error_code}",
        "request_method": notification.request_method,
        "request_url": notification.request_url,
        "uri": f"{PREFIX}/Accounts/{notification.account_sid}/Notifications/{notification.sid}.json",
    }


async def _page(key: str, path: str, scope, filtered, to_json, size: int, number: int, token: str | None,
                filters=()):
    after_sid, before_sid = render.page_anchor(token)
    try:
        window = await fetch_window(scope, filtered, size, offset=0 if token else number * size,
                                    after_sid=after_sid, before_sid=before_sid)
    except UnknownAnchor:
        raise errors.not_found(f"PageToken {token} names no item of this list") from None
    return render.page(key, path, [to_json(item) for item in window.items], window, size=size, number=number,
                       filters=filters, token=token, backwards=before_sid is not None)


async def list_for_call(AccountSid: str, CallSid: str, user: str, PageSize: int = 50, Page: int = 0,
                        PageToken: str | None = None):
    _, account = await authorize(user, AccountSid)
    call = await find_call(account.sid, CallSid)
    scope = Recording.filter(call_sid=call.sid, account_sid=account.sid)
    return await _page("recordings", f"/Accounts/{account.sid}/Calls/{call.sid}/Recordings.json", scope, scope,
                       recording_json, PageSize, Page, PageToken)


async def list_recordings(AccountSid: str, user: str, PageSize: int = 50, Page: int = 0,
                          PageToken: str | None = None):
    _, account = await authorize(user, AccountSid)
    filtering = parse_filters(list_filters.RECORDINGS, request.query_params)
    scope = Recording.filter(account_sid=account.sid)
    return await _page("recordings", f"/Accounts/{account.sid}/Recordings.json", scope, filtering.apply(scope),
                       recording_json, PageSize, Page, PageToken, filtering.given)


async def fetch_recording(AccountSid: str, RecordingSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    return render.json(recording_json(await find_recording(account.sid, RecordingSid)))


async def delete_recording(AccountSid: str, RecordingSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    recording = await find_recording(account.sid, RecordingSid)
    await context.current().engine.recordings.delete(recording)
    return ConnexionResponse(status_code=204)


async def notifications_for_call(AccountSid: str, CallSid: str, user: str, PageSize: int = 50, Page: int = 0,
                                 PageToken: str | None = None):
    _, account = await authorize(user, AccountSid)
    call = await find_call(account.sid, CallSid)
    scope = Notification.filter(call_sid=call.sid, account_sid=account.sid)
    return await _page("notifications", f"/Accounts/{account.sid}/Calls/{call.sid}/Notifications.json", scope,
                       scope, notification_json, PageSize, Page, PageToken)

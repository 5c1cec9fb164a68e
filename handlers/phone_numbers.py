"""The IncomingPhoneNumbers resource: numbers an account answers (contract section 9)."""

from __future__ import annotations

from typing import Any

from connexion import request
from connexion.lifecycle import ConnexionResponse
from models.call_filter import restore_plus
from tortoise.exceptions import IntegrityError

from calls.types import API_VERSION
from handlers import errors
from handlers.auth import authorize
from handlers.errors import ApiError, Code
from handlers.lists import API_PREFIX, respond_with_page
from handlers.render import Field, Fields, Format, render_item, twins
from models import IncomingPhoneNumber, clock, sids
from models.paging import page_request
from models.phone_number import number_variants

_SETTINGS = {
    "FriendlyName": "friendly_name",
    "VoiceUrl": "voice_url",
    "VoiceMethod": "voice_method",
    "VoiceFallbackUrl": "voice_fallback_url",
    "VoiceFallbackMethod": "voice_fallback_method",
    "StatusCallback": "status_callback",
    "StatusCallbackMethod": "status_callback_method",
}


def number_fields(number: IncomingPhoneNumber, fmt: Format) -> Fields:
    path = f"{API_PREFIX}/Accounts/{number.account_sid}/IncomingPhoneNumbers/{number.sid}"
    return [
        Field("sid", "Sid", number.sid),
        Field("account_sid", "AccountSid", number.account_sid),
        Field("friendly_name", "FriendlyName", number.friendly_name),
        Field("phone_number", "PhoneNumber", number.phone_number),
        Field("voice_url", "VoiceUrl", number.voice_url),
        Field("voice_method", "VoiceMethod", number.voice_method),
        Field("voice_fallback_url", "VoiceFallbackUrl", number.voice_fallback_url),
        Field("voice_fallback_method", "VoiceFallbackMethod", number.voice_fallback_method),
        Field("status_callback", "StatusCallback", number.status_callback),
        Field("status_callback_method", "StatusCallbackMethod", number.status_callback_method),
        Field("date_created", "DateCreated", clock.iso(number.date_created)),
        Field("date_updated", "DateUpdated", clock.iso(number.date_updated)),
        Field("api_version", "ApiVersion", API_VERSION),
        Field("uri", "Uri", path + fmt.suffix),
    ]


async def find_number(account_sid: str, number_sid: str) -> IncomingPhoneNumber:
    number = await IncomingPhoneNumber.get_or_none(sid=number_sid, account_sid=account_sid)
    if number is None:
        raise errors.not_found(f"IncomingPhoneNumber {number_sid} was not found")
    return number


async def list_numbers(fmt: Format, AccountSid: str, user: str, Page: int = 0, PageSize: int = 50,
                       AfterSid: str | None = None):
    _, account = await authorize(user, AccountSid)
    scope = IncomingPhoneNumber.filter(account_sid=account.sid)
    filtered = scope
    given: list[tuple[str, str]] = []
    if "PhoneNumber" in request.query_params:
        wanted = restore_plus(request.query_params["PhoneNumber"])
        filtered = filtered.filter(phone_number__in=number_variants(wanted))
        given.append(("PhoneNumber", wanted))
    if "FriendlyName" in request.query_params:
        filtered = filtered.filter(friendly_name=request.query_params["FriendlyName"])
        given.append(("FriendlyName", request.query_params["FriendlyName"]))
    return await respond_with_page(
        fmt, path=f"/Accounts/{account.sid}/IncomingPhoneNumbers", scope=scope, filtered=filtered,
        request=page_request(Page, PageSize, AfterSid), filters=given, json_key="incoming_phone_numbers",
        xml_list_name="IncomingPhoneNumbers", xml_item_name="IncomingPhoneNumber", fields_of=number_fields,
    )


async def create_number(fmt: Format, AccountSid: str, user: str, body: dict[str, Any]):
    _, account = await authorize(user, AccountSid)
    phone_number = restore_plus(body["PhoneNumber"])
    if await IncomingPhoneNumber.filter(phone_number__in=number_variants(phone_number)).exists():
        raise _taken(phone_number)
    now = clock.now()
    number = IncomingPhoneNumber(sid=sids.new_sid(sids.PHONE_NUMBER), account_sid=account.sid, date_created=now,
                                 date_updated=now, phone_number=phone_number,
                                 friendly_name=body.get("FriendlyName") or phone_number)
    _apply(number, body)
    try:
        await number.save(force_create=True)
    except IntegrityError:
        raise _taken(phone_number) from None
    return render_item(fmt, "IncomingPhoneNumber", number_fields(number, fmt), status=201)


async def fetch_number(fmt: Format, AccountSid: str, IncomingPhoneNumberSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    number = await find_number(account.sid, IncomingPhoneNumberSid)
    return render_item(fmt, "IncomingPhoneNumber", number_fields(number, fmt))


async def update_number(fmt: Format, AccountSid: str, IncomingPhoneNumberSid: str, user: str,
                        body: dict[str, Any] | None = None):
    _, account = await authorize(user, AccountSid)
    number = await find_number(account.sid, IncomingPhoneNumberSid)
    body = body or {}
    if not any(name in body for name in _SETTINGS):
        raise errors.bad_request("Nothing to change: give FriendlyName, a voice setting or StatusCallback")
    _apply(number, body)
    number.date_updated = clock.now()
    await number.save()
    return render_item(fmt, "IncomingPhoneNumber", number_fields(number, fmt))


async def delete_number(fmt: Format, AccountSid: str, IncomingPhoneNumberSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    number = await find_number(account.sid, IncomingPhoneNumberSid)
    await number.delete()
    return ConnexionResponse(status_code=204)


def _apply(number: IncomingPhoneNumber, body: dict[str, Any]) -> None:
    for name, attribute in _SETTINGS.items():
        if name in body:
            setattr(number, attribute, body[name])


def _taken(phone_number: str) -> ApiError:
    return ApiError(409, Code.CONFLICT, f"The number {phone_number} is already in use on this server")


list_json, list_xml = twins(list_numbers)
create_json, create_xml = twins(create_number)
fetch_json, fetch_xml = twins(fetch_number)
update_json, update_xml = twins(update_number)
delete_json, delete_xml = twins(delete_number)

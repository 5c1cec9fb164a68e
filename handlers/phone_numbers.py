"""The IncomingPhoneNumbers resource: numbers an account answers (contract section 9)."""

from __future__ import annotations

from typing import Any

from connexion import request
from connexion.lifecycle import ConnexionResponse
from tortoise.exceptions import IntegrityError

from calls.types import API_VERSION
from handlers import errors
from handlers.auth import authorize
from handlers.errors import ApiError, Code
from handlers.listing import API_PREFIX, Resource, parse_filters
from handlers.render import Field, Fields, Format, twins
from models import Client, IncomingPhoneNumber, clock, list_filters, sids
from models.list_filters import restore_plus
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


# JSON list key `incomingPhoneNumbers` (camelCase, unlike the other lists), as RestComm 9's
# IncomingPhoneNumberListConverter writes it.
NUMBERS = Resource("incomingPhoneNumbers", "IncomingPhoneNumbers", "IncomingPhoneNumber", number_fields)


async def find_number(account_sid: str, number_sid: str) -> IncomingPhoneNumber:
    number = await IncomingPhoneNumber.get_or_none(sid=number_sid, account_sid=account_sid)
    if number is None:
        raise errors.not_found(f"IncomingPhoneNumber {number_sid} was not found")
    return number


async def list_numbers(fmt: Format, AccountSid: str, user: str, Page: int = 0, PageSize: int = 50,
                       AfterSid: str | None = None):
    _, account = await authorize(user, AccountSid)
    scope = IncomingPhoneNumber.filter(account_sid=account.sid)
    filtering = parse_filters(list_filters.PHONE_NUMBERS, request.query_params)
    return await NUMBERS.page(
        fmt, path=f"/Accounts/{account.sid}/IncomingPhoneNumbers", scope=scope, filtered=filtering.apply(scope),
        request=page_request(Page, PageSize, AfterSid), filters=filtering.given,
    )


async def create_number(fmt: Format, AccountSid: str, user: str, body: dict[str, Any]):
    _, account = await authorize(user, AccountSid)
    return NUMBERS.item(fmt, await new_number(account.sid, body), status=201)


async def new_number(account_sid: str, body: dict[str, Any], api_version: str = API_VERSION) -> IncomingPhoneNumber:
    """A new number of the account from a create's form (both dialects name the settings alike); its calls'
    webhooks speak `api_version`, the dialect it was created through."""
    phone_number = restore_plus(body["PhoneNumber"])
    if await IncomingPhoneNumber.filter(phone_number__in=number_variants(phone_number)).exists():
        raise _taken(phone_number)
    if await Client.filter(login__in=number_variants(phone_number)).exists():
        # One namespace for what an INVITE reaches: a number must not capture a client's calls (any account's).
        raise ApiError(409, Code.CONFLICT, f"{phone_number} is a client login on this server: numbers and client "
                                           "logins share one namespace")
    now = clock.now()
    number = IncomingPhoneNumber(sid=sids.new_sid(sids.PHONE_NUMBER), account_sid=account_sid, date_created=now,
                                 date_updated=now, phone_number=phone_number,
                                 friendly_name=body.get("FriendlyName") or phone_number, api_version=api_version)
    _apply(number, body)
    try:
        await number.save(force_create=True)
    except IntegrityError:
        raise _taken(phone_number) from None
    return number


async def fetch_number(fmt: Format, AccountSid: str, IncomingPhoneNumberSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    number = await find_number(account.sid, IncomingPhoneNumberSid)
    return NUMBERS.item(fmt, number)


async def update_number(fmt: Format, AccountSid: str, IncomingPhoneNumberSid: str, user: str,
                        body: dict[str, Any] | None = None):
    _, account = await authorize(user, AccountSid)
    number = await find_number(account.sid, IncomingPhoneNumberSid)
    return NUMBERS.item(fmt, await change_number(number, body or {}))


async def change_number(number: IncomingPhoneNumber, body: dict[str, Any]) -> IncomingPhoneNumber:
    if not any(name in body for name in _SETTINGS):
        raise errors.bad_request("Nothing to change: give FriendlyName, a voice setting or StatusCallback")
    _apply(number, body)
    number.date_updated = clock.now()
    await number.save()
    return number


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
# RestComm's `X.json/{Sid}` spelling of the same item (its SDK and docs use it).
fetch_json_alias = fetch_json
update_json_alias = update_json
delete_json_alias = delete_json

"""IncomingPhoneNumbers in the Twilio dialect: the numbers an account answers, created, read, changed and
deleted through the RestComm dialect's own functions (handlers/phone_numbers.py), in Twilio's shape."""

from __future__ import annotations

from typing import Any

from connexion import request
from connexion.lifecycle import ConnexionResponse

from calls.types import TWILIO_API_VERSION
from handlers.auth import authorize
from handlers.listing import parse_filters
from handlers.phone_numbers import change_number, find_number, new_number
from handlers.twilio import render
from handlers.twilio.recordings import _page
from handlers.twilio.render import PREFIX, date
from models import IncomingPhoneNumber, list_filters


def number_json(number: IncomingPhoneNumber) -> dict[str, Any]:
    return {
        "sid": number.sid,
        "account_sid": number.account_sid,
        "friendly_name": number.friendly_name,
        "phone_number": number.phone_number,
        "voice_url": number.voice_url,
        "voice_method": number.voice_method,
        "voice_fallback_url": number.voice_fallback_url,
        "voice_fallback_method": number.voice_fallback_method,
        "voice_application_sid": None,
        "voice_caller_id_lookup": False,
        "status_callback": number.status_callback,
        "status_callback_method": number.status_callback_method,
        "trunk_sid": None,
        "capabilities": {"voice": True, "sms": False, "mms": False, "fax": False},
        "api_version": render.API_VERSION,
        "date_created": date(number.date_created),
        "date_updated": date(number.date_updated),
        "uri": f"{PREFIX}/Accounts/{number.account_sid}/IncomingPhoneNumbers/{number.sid}.json",
    }


async def list_numbers(AccountSid: str, user: str, PageSize: int = 50, Page: int = 0, PageToken: str | None = None):
    _, account = await authorize(user, AccountSid)
    filtering = parse_filters(list_filters.PHONE_NUMBERS, request.query_params)
    scope = IncomingPhoneNumber.filter(account_sid=account.sid)
    return await _page("incoming_phone_numbers", f"/Accounts/{account.sid}/IncomingPhoneNumbers.json", scope,
                       filtering.apply(scope), number_json, PageSize, Page, PageToken, filtering.given)


async def create_number(AccountSid: str, user: str, body: dict[str, Any]):
    _, account = await authorize(user, AccountSid)
    return render.json(number_json(await new_number(account.sid, body, TWILIO_API_VERSION)), 201)


async def fetch_number(AccountSid: str, IncomingPhoneNumberSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    return render.json(number_json(await find_number(account.sid, IncomingPhoneNumberSid)))


async def update_number(AccountSid: str, IncomingPhoneNumberSid: str, user: str, body: dict[str, Any] | None = None):
    _, account = await authorize(user, AccountSid)
    number = await find_number(account.sid, IncomingPhoneNumberSid)
    return render.json(number_json(await change_number(number, body or {})))


async def delete_number(AccountSid: str, IncomingPhoneNumberSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    number = await find_number(account.sid, IncomingPhoneNumberSid)
    await number.delete()
    return ConnexionResponse(status_code=204)

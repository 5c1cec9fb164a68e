"""The Clients resource: SIP users of an account (contract section 9)."""

from __future__ import annotations

from typing import Any

from connexion.lifecycle import ConnexionResponse
from tortoise.exceptions import IntegrityError

from calls.types import API_VERSION
from handlers import errors
from handlers.auth import authorize
from handlers.errors import ApiError, Code
from handlers.listing import API_PREFIX, Resource
from handlers.render import Field, Fields, Format, twins
from models import Client, IncomingPhoneNumber, Registration, clock, sids
from models.paging import page_request
from models.phone_number import number_variants

# Form names and the Client attributes they set, for create and update alike.
_VOICE_FIELDS = {
    "FriendlyName": "friendly_name",
    "Status": "status",
    "VoiceUrl": "voice_url",
    "VoiceMethod": "voice_method",
    "VoiceFallbackUrl": "voice_fallback_url",
    "VoiceFallbackMethod": "voice_fallback_method",
}


def client_fields(client: Client, fmt: Format) -> Fields:
    return [
        Field("sid", "Sid", client.sid),
        Field("date_created", "DateCreated", clock.iso(client.date_created)),
        Field("date_updated", "DateUpdated", clock.iso(client.date_updated)),
        Field("account_sid", "AccountSid", client.account_sid),
        Field("api_version", "ApiVersion", API_VERSION),
        Field("friendly_name", "FriendlyName", client.friendly_name),
        Field("login", "Login", client.login),
        Field("status", "Status", client.status),
        Field("voice_url", "VoiceUrl", client.voice_url),
        Field("voice_method", "VoiceMethod", client.voice_method),
        Field("voice_fallback_url", "VoiceFallbackUrl", client.voice_fallback_url),
        Field("voice_fallback_method", "VoiceFallbackMethod", client.voice_fallback_method),
        Field("uri", "Uri", f"{API_PREFIX}/Accounts/{client.account_sid}/Clients/{client.sid}{fmt.suffix}"),
    ]


# JSON list: a bare array, as RestComm 9 answers it (`gson.toJson(clients)`) and its clients parse it.
CLIENTS = Resource(None, "Clients", "Client", client_fields)


async def find_client(account_sid: str, client_sid: str) -> Client:
    client = await Client.get_or_none(sid=client_sid, account_sid=account_sid)
    if client is None:
        raise errors.not_found(f"Client {client_sid} was not found")
    return client


async def list_clients(fmt: Format, AccountSid: str, user: str, Page: int = 0, PageSize: int = 50,
                       AfterSid: str | None = None):
    _, account = await authorize(user, AccountSid)
    scope = Client.filter(account_sid=account.sid)
    return await CLIENTS.page(fmt, path=f"/Accounts/{account.sid}/Clients", scope=scope,
                              request=page_request(Page, PageSize, AfterSid))


async def create_client(fmt: Format, AccountSid: str, user: str, body: dict[str, Any]):
    _, account = await authorize(user, AccountSid)
    if await IncomingPhoneNumber.filter(phone_number__in=number_variants(body["Login"])).exists():
        # One namespace for what an INVITE reaches (see create_number): a login must not shadow a number.
        raise ApiError(409, Code.CONFLICT, f"{body['Login']} is a phone number on this server: numbers and client "
                                           "logins share one namespace")
    now = clock.now()
    client = Client(sid=sids.new_sid(sids.CLIENT), account_sid=account.sid, date_created=now, date_updated=now,
                    login=body["Login"], friendly_name=body.get("FriendlyName") or body["Login"])
    client.set_password(body["Password"])
    _apply(client, body)
    try:
        await client.save(force_create=True)
    except IntegrityError:
        raise ApiError(409, Code.CONFLICT, f"A client with login {body['Login']} already exists") from None
    return CLIENTS.item(fmt, client, status=201)


async def fetch_client(fmt: Format, AccountSid: str, ClientSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    return CLIENTS.item(fmt, await find_client(account.sid, ClientSid))


async def update_client(fmt: Format, AccountSid: str, ClientSid: str, user: str, body: dict[str, Any] | None = None):
    _, account = await authorize(user, AccountSid)
    client = await find_client(account.sid, ClientSid)
    body = body or {}
    if not any(name in body for name in (*_VOICE_FIELDS, "Password")):
        raise errors.bad_request("Nothing to change: give FriendlyName, Password, Status or a voice setting")
    if "Password" in body:
        client.set_password(body["Password"])
    _apply(client, body)
    client.date_updated = clock.now()
    await client.save()
    if not client.enabled:
        # A disabled client must not keep ringing on devices it registered before.
        await Registration.filter(client_sid=client.sid).delete()
    return CLIENTS.item(fmt, client)


async def delete_client(fmt: Format, AccountSid: str, ClientSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    client = await find_client(account.sid, ClientSid)
    await Registration.filter(client_sid=client.sid).delete()
    await client.delete()
    return ConnexionResponse(status_code=204)


def _apply(client: Client, body: dict[str, Any]) -> None:
    for name, attribute in _VOICE_FIELDS.items():
        if name in body:
            setattr(client, attribute, body[name])


list_json, list_xml = twins(list_clients)
create_json, create_xml = twins(create_client)
fetch_json, fetch_xml = twins(fetch_client)
update_json, update_xml = twins(update_client)
delete_json, delete_xml = twins(delete_client)
# RestComm's `X.json/{Sid}` spelling of the same item (its SDK and docs use it).
fetch_json_alias = fetch_json
update_json_alias = update_json
delete_json_alias = delete_json

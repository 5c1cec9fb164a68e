"""Recordings: the per-call list now; the account-wide list and the audio come with the media engine."""

from __future__ import annotations

from handlers.auth import authorize
from handlers.calls import API_VERSION, find_call
from handlers.lists import API_PREFIX, respond_with_page
from handlers.render import Field, Fields, Format, twins
from models import Recording, clock
from models.paging import page_request


def recording_fields(recording: Recording, fmt: Format) -> Fields:
    path = f"{API_PREFIX}/Accounts/{recording.account_sid}/Recordings/{recording.sid}"
    return [
        Field("sid", "Sid", recording.sid),
        Field("date_created", "DateCreated", clock.iso(recording.date_created)),
        Field("date_updated", "DateUpdated", clock.iso(recording.date_updated)),
        Field("account_sid", "AccountSid", recording.account_sid),
        Field("call_sid", "CallSid", recording.call_sid),
        Field("duration", "Duration", recording.duration),
        Field("api_version", "ApiVersion", API_VERSION),
        Field("uri", "Uri", path + fmt.suffix),
        Field("file_uri", "FileUri", f"/restcomm{path}.wav"),
    ]


async def list_for_call(fmt: Format, AccountSid: str, CallSid: str, user: str, Page: int = 0,
                        PageSize: int = 50, AfterSid: str | None = None):
    _, account = await authorize(user, AccountSid)
    call = await find_call(account.sid, CallSid)
    scope = Recording.filter(call_sid=call.sid)
    return await respond_with_page(
        fmt,
        path=f"/Accounts/{account.sid}/Calls/{call.sid}/Recordings",
        scope=scope,
        filtered=scope,
        request=page_request(Page, PageSize, AfterSid),
        json_key="recordings",
        xml_list_name="Recordings",
        xml_item_name="Recording",
        fields_of=recording_fields,
    )


list_for_call_json, list_for_call_xml = twins(list_for_call)

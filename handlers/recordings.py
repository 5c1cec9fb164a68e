"""Recordings (contract section 9): per call and per account, each with its WAV audio."""

from __future__ import annotations

import anyio
from connexion import request
from connexion.lifecycle import ConnexionResponse

from calls.types import API_VERSION
from handlers import context, errors
from handlers.auth import authorize
from handlers.calls import find_call
from handlers.lists import API_PREFIX, respond_with_page
from handlers.render import Field, Fields, Format, render_item, twins
from models import Recording, clock
from models.paging import page_request
from models.time_filter import InvalidFilter, apply_bounds, keys_for, time_bounds

_DATE_KEYS = keys_for("DateCreated", "date_created")


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


async def list_recordings(fmt: Format, AccountSid: str, user: str, Page: int = 0, PageSize: int = 50,
                          AfterSid: str | None = None):
    _, account = await authorize(user, AccountSid)
    scope = Recording.filter(account_sid=account.sid)
    query = request.query_params
    try:
        filtered = apply_bounds(scope, time_bounds(query, _DATE_KEYS))
    except InvalidFilter as exc:
        raise errors.bad_request(str(exc)) from None
    given = [(key, query[key]) for key in ("CallSid", *_DATE_KEYS) if key in query]
    if "CallSid" in query:
        filtered = filtered.filter(call_sid=query["CallSid"])
    return await respond_with_page(
        fmt,
        path=f"/Accounts/{account.sid}/Recordings",
        scope=scope,
        filtered=filtered,
        request=page_request(Page, PageSize, AfterSid),
        filters=given,
        json_key="recordings",
        xml_list_name="Recordings",
        xml_item_name="Recording",
        fields_of=recording_fields,
    )


async def find_recording(account_sid: str, recording_sid: str) -> Recording:
    recording = await Recording.get_or_none(sid=recording_sid, account_sid=account_sid)
    if recording is None:
        raise errors.not_found(f"Recording {recording_sid} was not found")
    return recording


async def fetch_recording(fmt: Format, AccountSid: str, RecordingSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    return render_item(fmt, "Recording", recording_fields(await find_recording(account.sid, RecordingSid), fmt))


async def delete_recording(fmt: Format, AccountSid: str, RecordingSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    recording = await find_recording(account.sid, RecordingSid)
    await context.current().engine.recordings.delete(recording)
    return ConnexionResponse(status_code=204)


async def audio(AccountSid: str, RecordingSid: str):
    """The WAV file; no credentials (see openapi.yaml), so only the SIDs in the path select it."""
    recording = await find_recording(AccountSid, RecordingSid)
    path = context.current().engine.recordings.path_of(recording)
    try:
        body = await anyio.Path(path).read_bytes()
    except FileNotFoundError:
        raise errors.not_found(f"Recording {RecordingSid} has no audio") from None
    return ConnexionResponse(status_code=200, body=body, content_type="audio/wav",
                             headers={"Content-Type": "audio/wav"})


list_for_call_json, list_for_call_xml = twins(list_for_call)
list_json, list_xml = twins(list_recordings)
fetch_json, fetch_xml = twins(fetch_recording)
delete_json, delete_xml = twins(delete_recording)

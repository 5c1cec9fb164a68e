"""Recordings (contract section 9): per call and per account, each with its WAV audio."""

from __future__ import annotations

import anyio
from connexion import request
from connexion.lifecycle import ConnexionResponse

from calls.types import API_VERSION
from handlers import context, errors
from handlers.auth import authorize
from handlers.calls import find_call
from handlers.listing import API_PREFIX, Resource, parse_filters
from handlers.render import Field, Fields, Format, twins
from models import Recording, clock, list_filters
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


RECORDINGS = Resource("recordings", "Recordings", "Recording", recording_fields)


async def list_for_call(fmt: Format, AccountSid: str, CallSid: str, user: str, Page: int = 0,
                        PageSize: int = 50, AfterSid: str | None = None):
    _, account = await authorize(user, AccountSid)
    call = await find_call(account.sid, CallSid)
    scope = Recording.filter(call_sid=call.sid)
    return await RECORDINGS.page(fmt, path=f"/Accounts/{account.sid}/Calls/{call.sid}/Recordings", scope=scope,
                                 request=page_request(Page, PageSize, AfterSid))


async def list_recordings(fmt: Format, AccountSid: str, user: str, Page: int = 0, PageSize: int = 50,
                          AfterSid: str | None = None):
    _, account = await authorize(user, AccountSid)
    scope = Recording.filter(account_sid=account.sid)
    filtering = parse_filters(list_filters.RECORDINGS, request.query_params)
    return await RECORDINGS.page(
        fmt, path=f"/Accounts/{account.sid}/Recordings", scope=scope, filtered=filtering.apply(scope),
        request=page_request(Page, PageSize, AfterSid), filters=filtering.given,
    )


async def find_recording(account_sid: str, recording_sid: str) -> Recording:
    recording = await Recording.get_or_none(sid=recording_sid, account_sid=account_sid)
    if recording is None:
        raise errors.not_found(f"Recording {recording_sid} was not found")
    return recording


async def fetch_recording(fmt: Format, AccountSid: str, RecordingSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    return RECORDINGS.item(fmt, await find_recording(account.sid, RecordingSid))


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


# The Twilio dialect's `.wav` route serves the same file (twilio.yaml gives it its own operationId).
audio_twilio = audio
list_for_call_json, list_for_call_xml = twins(list_for_call)
list_json, list_xml = twins(list_recordings)
fetch_json, fetch_xml = twins(fetch_recording)
delete_json, delete_xml = twins(delete_recording)
# RestComm's `X.json/{Sid}` spelling of the same item (its SDK and docs use it).
fetch_json_alias = fetch_json
delete_json_alias = delete_json

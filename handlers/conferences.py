"""Conferences and their Participants (contract section 9): rooms made by `<Dial><Conference>`.

Reading goes to the rows; muting and removing go to the live room, which lives in the call engine of the
node its first caller is on (rcml/conference.py).
"""

from __future__ import annotations

from typing import Any

from connexion import request
from connexion.lifecycle import ConnexionResponse

from calls.types import API_VERSION, RoomNotLive
from handlers import context, errors
from handlers.auth import authorize
from handlers.errors import ApiError, Code
from handlers.listing import API_PREFIX, Resource, parse_filters
from handlers.render import Field, Fields, Format, twins
from models import Conference, Participant, clock, list_filters
from models.paging import page_request


def conference_fields(conference: Conference, fmt: Format) -> Fields:
    path = f"{API_PREFIX}/Accounts/{conference.account_sid}/Conferences/{conference.sid}"
    return [
        Field("sid", "Sid", conference.sid),
        Field("date_created", "DateCreated", clock.iso(conference.date_created)),
        Field("date_updated", "DateUpdated", clock.iso(conference.date_updated)),
        Field("account_sid", "AccountSid", conference.account_sid),
        Field("friendly_name", "FriendlyName", conference.friendly_name),
        Field("status", "Status", conference.status),
        Field("api_version", "ApiVersion", API_VERSION),
        Field("uri", "Uri", path + fmt.suffix),
        Field("subresource_uris", "SubresourceUris", [
            Field("participants", "Participants", f"{path}/Participants{fmt.suffix}"),
        ]),
    ]


def participant_fields(participant: Participant, fmt: Format) -> Fields:
    path = (f"{API_PREFIX}/Accounts/{participant.account_sid}/Conferences/{participant.conference_sid}"
            f"/Participants/{participant.sid}")
    return [
        Field("call_sid", "CallSid", participant.sid),
        Field("conference_sid", "ConferenceSid", participant.conference_sid),
        Field("account_sid", "AccountSid", participant.account_sid),
        Field("date_created", "DateCreated", clock.iso(participant.date_created)),
        Field("date_updated", "DateUpdated", clock.iso(participant.date_updated)),
        Field("muted", "Muted", participant.muted),
        Field("start_conference_on_enter", "StartConferenceOnEnter", participant.start_conference_on_enter),
        Field("end_conference_on_exit", "EndConferenceOnExit", participant.end_conference_on_exit),
        Field("uri", "Uri", path + fmt.suffix),
    ]


CONFERENCES = Resource("conferences", "Conferences", "Conference", conference_fields)
PARTICIPANTS = Resource("participants", "Participants", "Participant", participant_fields)


async def find_conference(account_sid: str, conference_sid: str) -> Conference:
    conference = await Conference.get_or_none(sid=conference_sid, account_sid=account_sid)
    if conference is None:
        raise errors.not_found(f"Conference {conference_sid} was not found")
    return conference


async def find_participant(conference: Conference, call_sid: str) -> Participant:
    participant = await Participant.get_or_none(sid=call_sid, conference_sid=conference.sid)
    if participant is None:
        raise errors.not_found(f"Call {call_sid} is not a participant of conference {conference.sid}")
    return participant


async def list_conferences(fmt: Format, AccountSid: str, user: str, Page: int = 0, PageSize: int = 50,
                           AfterSid: str | None = None):
    _, account = await authorize(user, AccountSid)
    scope = Conference.filter(account_sid=account.sid)
    filtering = parse_filters(list_filters.CONFERENCES, request.query_params)
    return await CONFERENCES.page(
        fmt, path=f"/Accounts/{account.sid}/Conferences", scope=scope, filtered=filtering.apply(scope),
        request=page_request(Page, PageSize, AfterSid), filters=filtering.given,
    )


async def fetch_conference(fmt: Format, AccountSid: str, ConferenceSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    return CONFERENCES.item(fmt, await find_conference(account.sid, ConferenceSid))


async def list_participants(fmt: Format, AccountSid: str, ConferenceSid: str, user: str, Page: int = 0,
                            PageSize: int = 50, AfterSid: str | None = None):
    _, account = await authorize(user, AccountSid)
    conference = await find_conference(account.sid, ConferenceSid)
    scope = Participant.filter(conference_sid=conference.sid)
    return await PARTICIPANTS.page(fmt, path=f"/Accounts/{account.sid}/Conferences/{conference.sid}/Participants",
                                   scope=scope, request=page_request(Page, PageSize, AfterSid))


async def fetch_participant(fmt: Format, AccountSid: str, ConferenceSid: str, CallSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    participant = await find_participant(await find_conference(account.sid, ConferenceSid), CallSid)
    return PARTICIPANTS.item(fmt, participant)


async def update_participant(fmt: Format, AccountSid: str, ConferenceSid: str, CallSid: str, user: str,
                             body: dict[str, Any]):
    """Made where the room runs: here, or on the node that runs it (the change is carried there)."""
    _, account = await authorize(user, AccountSid)
    conference = await find_conference(account.sid, ConferenceSid)
    await find_participant(conference, CallSid)
    if not await _in_live_room(conference, CallSid, mute=body["Mute"]):
        raise errors.not_found(f"Call {CallSid} is not a participant of conference {conference.sid}")
    # The row as the room's node wrote it.
    return PARTICIPANTS.item(fmt, await find_participant(conference, CallSid))


async def remove_participant(fmt: Format, AccountSid: str, ConferenceSid: str, CallSid: str, user: str):
    """The participant's <Dial> ends and its call goes on with the rest of its document."""
    _, account = await authorize(user, AccountSid)
    conference = await find_conference(account.sid, ConferenceSid)
    await find_participant(conference, CallSid)
    if not await _in_live_room(conference, CallSid, remove=True):
        raise errors.not_found(f"Call {CallSid} is not a participant of conference {conference.sid}")
    return ConnexionResponse(status_code=204)


async def _in_live_room(conference: Conference, call_sid: str, *, mute: bool | None = None,
                        remove: bool = False) -> bool:
    try:
        return await context.current().engine.change_participant(conference, call_sid, mute=mute, remove=remove)
    except RoomNotLive as exc:
        raise ApiError(409, Code.CONFLICT, exc.message) from None


list_json, list_xml = twins(list_conferences)
fetch_json, fetch_xml = twins(fetch_conference)
list_participants_json, list_participants_xml = twins(list_participants)
fetch_participant_json, fetch_participant_xml = twins(fetch_participant)
update_participant_json, update_participant_xml = twins(update_participant)
fetch_participant_json_alias = fetch_participant_json
update_participant_json_alias = update_participant_json
remove_participant_json, remove_participant_xml = twins(remove_participant)
remove_participant_json_alias = remove_participant_json
# RestComm's `X.json/{Sid}` spelling of the same item (its SDK and docs use it).
fetch_json_alias = fetch_json

"""Conferences and Participants in the Twilio dialect: the rooms `<Dial><Conference>` makes, read from their
rows, and muted or removed through the engine (handlers/conferences.py's `_in_live_room`), Twilio's shapes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connexion import request
from connexion.lifecycle import ConnexionResponse

from calls.types import Hold, RoomNotLive
from handlers import context, errors
from handlers.auth import authorize
from handlers.calls import place_call
from handlers.conferences import _in_live_room, find_conference, find_participant
from handlers.errors import ApiError, Code
from handlers.listing import parse_filters
from handlers.twilio import render
from handlers.twilio.calls import inline_url
from handlers.twilio.dial_in import participant_call, room_document
from handlers.twilio.recordings import _page
from handlers.twilio.render import PREFIX, date
from models import Call, Conference, ConferenceStatus, Participant, list_filters


def conference_json(conference: Conference) -> dict[str, Any]:
    path = f"{PREFIX}/Accounts/{conference.account_sid}/Conferences/{conference.sid}"
    return {
        "sid": conference.sid,
        "account_sid": conference.account_sid,
        "friendly_name": conference.friendly_name,
        "status": conference.status,
        "api_version": render.API_VERSION,
        "date_created": date(conference.date_created),
        "date_updated": date(conference.date_updated),
        "region": None,
        "reason_conference_ended": None,
        "call_sid_ending_conference": None,
        "uri": f"{path}.json",
        "subresource_uris": {"participants": f"{path}/Participants.json", "recordings": f"{path}/Recordings.json"},
    }


def participant_json(participant: Participant, held: bool = False) -> dict[str, Any]:
    return {
        "sid": participant.sid,
        "call_sid": participant.sid,
        "account_sid": participant.account_sid,
        "conference_sid": participant.conference_sid,
        "label": None,
        "call_sid_to_coach": None,
        "coaching": False,
        "date_created": date(participant.date_created),
        "date_updated": date(participant.date_updated),
        "end_conference_on_exit": participant.end_conference_on_exit,
        "start_conference_on_enter": participant.start_conference_on_enter,
        "muted": participant.muted,
        "hold": held,
        "status": "connected",
        "queue_time": None,
        "uri": f"{PREFIX}/Accounts/{participant.account_sid}/Conferences/{participant.conference_sid}"
               f"/Participants/{participant.sid}.json",
    }


async def list_conferences(AccountSid: str, user: str, PageSize: int = 50, Page: int = 0,
                           PageToken: str | None = None):
    _, account = await authorize(user, AccountSid)
    filtering = parse_filters(list_filters.CONFERENCES, request.query_params)
    scope = Conference.filter(account_sid=account.sid)
    return await _page("conferences", f"/Accounts/{account.sid}/Conferences.json", scope, filtering.apply(scope),
                       conference_json, PageSize, Page, PageToken, filtering.given)


async def fetch_conference(AccountSid: str, ConferenceSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    return render.json(conference_json(await find_conference(account.sid, ConferenceSid)))


async def list_participants(AccountSid: str, ConferenceSid: str, user: str, PageSize: int = 50, Page: int = 0,
                            PageToken: str | None = None):
    _, account = await authorize(user, AccountSid)
    conference = await find_conference(account.sid, ConferenceSid)
    scope = Participant.filter(conference_sid=conference.sid)
    engine = context.current().engine

    def shown(participant: Participant) -> dict[str, Any]:
        return participant_json(participant, engine.is_held(conference.sid, participant.sid))

    return await _page("participants", f"/Accounts/{account.sid}/Conferences/{conference.sid}/Participants.json",
                       scope, scope, shown, PageSize, Page, PageToken)


async def create_participant(AccountSid: str, ConferenceSid: str, user: str, body: dict[str, Any]):
    """Dials `To` into the room named by its SID, or by its friendly name (Twilio allows that here: the room
    is made by the first participant who joins it, as with <Dial><Conference>)."""
    _, account = await authorize(user, AccountSid)
    conference = await _room_to_join(account.sid, ConferenceSid)
    name = conference.friendly_name if conference is not None else ConferenceSid
    document = await inline_url(account.sid, room_document(name, body))
    call = await place_call(account, participant_call(body, document))
    return render.json(dialled_participant_json(call, conference, ConferenceSid, body), 201)


async def _room_to_join(account_sid: str, sid_or_name: str) -> Conference | None:
    """The live room to join; None for a friendly name no live room has (the new call will open it)."""
    if not sid_or_name.startswith("CF") or len(sid_or_name) != 34:
        return await Conference.filter(account_sid=account_sid, friendly_name=sid_or_name,
                                       status__not=ConferenceStatus.COMPLETED.value).order_by("-date_created").first()
    conference = await find_conference(account_sid, sid_or_name)
    if conference.status == ConferenceStatus.COMPLETED.value:
        raise ApiError(409, Code.CONFLICT, f"Conference {conference.sid} is completed: nobody can join it")
    return conference


def dialled_participant_json(call: Call, conference: Conference | None, sid_or_name: str,
                             body: dict[str, Any]) -> dict[str, Any]:
    """The participant as it will be once its call answers and joins; `queued` until then. Before the room
    exists, `conference_sid` is null and `uri` names the room as the request did."""
    conference_sid = conference.sid if conference is not None else None
    return {
        "sid": call.sid,
        "call_sid": call.sid,
        "account_sid": call.account_sid,
        "conference_sid": conference_sid,
        "label": body.get("Label"),
        "call_sid_to_coach": None,
        "coaching": False,
        "date_created": date(call.date_created),
        "date_updated": date(call.date_updated),
        "end_conference_on_exit": bool(body.get("EndConferenceOnExit", False)),
        "start_conference_on_enter": bool(body.get("StartConferenceOnEnter", True)),
        "muted": bool(body.get("Muted", False)),
        "hold": False,
        "status": call.status,
        "queue_time": None,
        "uri": f"{PREFIX}/Accounts/{call.account_sid}/Conferences/{conference_sid or quote(sid_or_name, safe='')}"
               f"/Participants/{call.sid}.json",
    }


async def fetch_participant(AccountSid: str, ConferenceSid: str, CallSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    conference = await find_conference(account.sid, ConferenceSid)
    return await _shown(conference, CallSid)


async def _shown(conference: Conference, call_sid: str):
    """The row, with hold as the room's node knows it (it is not stored)."""
    held = context.current().engine.is_held(conference.sid, call_sid)
    return render.json(participant_json(await find_participant(conference, call_sid), held))


async def update_participant(AccountSid: str, ConferenceSid: str, CallSid: str, user: str,
                             body: dict[str, Any] | None = None):
    _, account = await authorize(user, AccountSid)
    conference = await find_conference(account.sid, ConferenceSid)
    await find_participant(conference, CallSid)
    body = body or {}
    if "Muted" in body and not await _in_live_room(conference, CallSid, mute=bool(body["Muted"])):
        raise errors.not_found(f"Call {CallSid} is not a participant of conference {conference.sid}")
    if "Hold" in body:
        hold = Hold(bool(body["Hold"]), body.get("HoldUrl"), body.get("HoldMethod", "GET"))
        try:
            held = context.current().engine.hold_participant(conference, CallSid, hold)
        except RoomNotLive as exc:
            raise ApiError(409, Code.CONFLICT, exc.message) from None
        if not held:
            raise errors.not_found(f"Call {CallSid} is not a participant of conference {conference.sid}")
    return await _shown(conference, CallSid)


async def remove_participant(AccountSid: str, ConferenceSid: str, CallSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    conference = await find_conference(account.sid, ConferenceSid)
    await find_participant(conference, CallSid)
    if not await _in_live_room(conference, CallSid, remove=True):
        raise errors.not_found(f"Call {CallSid} is not a participant of conference {conference.sid}")
    return ConnexionResponse(status_code=204)

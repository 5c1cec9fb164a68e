"""Conferences and Participants in the Twilio dialect: the rooms `<Dial><Conference>` makes, read from their
rows, and muted or removed through the engine (handlers/conferences.py's `_in_live_room`), Twilio's shapes."""

from __future__ import annotations

from typing import Any

from connexion import request
from connexion.lifecycle import ConnexionResponse

from handlers import errors
from handlers.auth import authorize
from handlers.conferences import _in_live_room, find_conference, find_participant
from handlers.listing import parse_filters
from handlers.twilio import render
from handlers.twilio.recordings import _page
from handlers.twilio.render import PREFIX, date
from models import Conference, Participant, list_filters


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


def participant_json(participant: Participant) -> dict[str, Any]:
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
        "hold": False,
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
    return await _page("participants", f"/Accounts/{account.sid}/Conferences/{conference.sid}/Participants.json",
                       scope, scope, participant_json, PageSize, Page, PageToken)


async def fetch_participant(AccountSid: str, ConferenceSid: str, CallSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    conference = await find_conference(account.sid, ConferenceSid)
    return render.json(participant_json(await find_participant(conference, CallSid)))


async def update_participant(AccountSid: str, ConferenceSid: str, CallSid: str, user: str,
                             body: dict[str, Any] | None = None):
    _, account = await authorize(user, AccountSid)
    conference = await find_conference(account.sid, ConferenceSid)
    await find_participant(conference, CallSid)
    body = body or {}
    if "Muted" in body and not await _in_live_room(conference, CallSid, mute=bool(body["Muted"])):
        raise errors.not_found(f"Call {CallSid} is not a participant of conference {conference.sid}")
    return render.json(participant_json(await find_participant(conference, CallSid)))


async def remove_participant(AccountSid: str, ConferenceSid: str, CallSid: str, user: str):
    _, account = await authorize(user, AccountSid)
    conference = await find_conference(account.sid, ConferenceSid)
    await find_participant(conference, CallSid)
    if not await _in_live_room(conference, CallSid, remove=True):
        raise errors.not_found(f"Call {CallSid} is not a participant of conference {conference.sid}")
    return ConnexionResponse(status_code=204)

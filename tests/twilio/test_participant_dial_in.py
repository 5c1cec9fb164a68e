"""Dialling a participant into a room through twilio-python (`conferences(sid).participants.create`): the new
call is an ordinary call of the account that joins the room once answered, and everybody hears everybody.
Three real phones (baresip, each sending its own tone) registered as clients."""

from __future__ import annotations

import asyncio
import re

import pytest
from twilio.base.exceptions import TwilioRestException

from models import Call, Participant
from sip.media.decoder import read_audio
from tests.calls.test_conference import TONES, phones
from tests.calls.test_dial import ABSENT_DBFS, HEARD_DBFS
from tests.conftest import ADMIN_SID
from tests.media.audio import wav_bytes
from tests.media.tones import level_dbfs, tone_pcm
from tests.twilio.conftest import sdk
from tests.twilio.test_webhooks import signed

ROOM = '<Response><Dial><Conference beep="false">blue</Conference></Dial></Response>'


async def _members(count: int, within: float = 30.0) -> None:
    async with asyncio.timeout(within):
        while await Participant.all().count() < count:  # noqa: ASYNC110 - the rows are the API's truth
            await asyncio.sleep(0.1)


async def test_a_dialled_in_participant_hears_and_is_heard_by_the_room(server, application, workdir, twilio):
    url = application.on("/room", ROOM)
    status = application.on("/status", "")
    async with phones(server, workdir, tone_s=8) as started:
        first = await sdk(twilio.calls.create, to="client:c500", from_="+16175551212", url=url)
        second = await sdk(twilio.calls.create, to="client:c800", from_="+16175551212", url=url)
        await _members(2)
        [room] = await sdk(twilio.conferences.list, status="in-progress")
        third = await sdk(twilio.conferences(room.sid).participants.create, from_="+16175551212",
                          to="client:c1300", beep="false", status_callback=status,
                          status_callback_event=["initiated", "answered", "completed"], label="agent")
        assert third.call_sid.startswith("CA") and third.call_sid not in (first.sid, second.sid)
        assert third.conference_sid == room.sid and third.status == "queued" and third.label == "agent"
        await _members(3)
        members = await sdk(twilio.conferences(room.sid).participants.list)
        assert {m.call_sid for m in members} == {first.sid, second.sid, third.call_sid}
        # An ordinary call of the account, in both dialects.
        assert (await sdk(twilio.calls(third.call_sid).fetch)).to == "c1300"
        restcomm = await server.get(f"/Accounts/{ADMIN_SID}/Calls/{third.call_sid}.json")
        assert restcomm.status_code == 200 and restcomm.json()["direction"] == "outbound-api"
        for phone in started.values():
            await phone.wait_for("terminated", timeout_s=25)
    for login, phone in started.items():
        heard = read_audio(phone.heard())
        levels = {hz: level_dbfs(heard, hz) for hz in TONES.values()}
        others = [hz for name, hz in TONES.items() if name != login]
        assert all(levels[hz] > HEARD_DBFS for hz in others), (login, levels)
        assert levels[TONES[login]] < ABSENT_DBFS, (login, levels)
    await server.wait_status(third.call_sid, "completed")
    callbacks = await application.wait_for("/status", count=3, seconds=30)
    assert [c.params["CallStatus"] for c in callbacks] == ["queued", "in-progress", "completed"]
    assert all(c.params["CallSid"] == third.call_sid and signed(c) for c in callbacks)


async def test_a_room_named_by_friendly_name_is_opened_by_the_participant(server, application, workdir, twilio):
    async with phones(server, workdir, tone_s=5) as started:
        opened = await sdk(twilio.conferences("standup").participants.create, from_="+16175551212",
                           to="client:c500", beep="false")
        assert opened.conference_sid is None and opened.status == "queued"
        await _members(1)
        joined = await sdk(twilio.conferences("standup").participants.create, from_="+16175551212",
                           to="client:c800", beep="false")
        [room] = await sdk(twilio.conferences.list, friendly_name="standup")
        assert joined.conference_sid == room.sid
        await _members(2)
        for login in ("c500", "c800"):
            await started[login].wait_for("terminated", timeout_s=20)
    assert level_dbfs(read_audio(started["c500"].heard()), TONES["c800"]) > HEARD_DBFS
    assert level_dbfs(read_audio(started["c800"].heard()), TONES["c500"]) > HEARD_DBFS


@pytest.mark.parametrize("options, named", [
    ({"beep": "onEnter"}, "Beep"),
    ({"record": True}, "Record"),
    ({"conference_status_callback": "http://127.0.0.1/cb"}, "ConferenceStatusCallback"),
    ({"coaching": True}, "Coaching"),
])
async def test_what_cannot_be_honoured_is_refused_naming_it(server, twilio, options, named):
    with pytest.raises(TwilioRestException) as refused:
        await sdk(twilio.conferences("lobby").participants.create, from_="+16175551212", to="sip:x@127.0.0.1",
                  **options)
    assert refused.value.status == 400 and named in refused.value.msg
    assert await Call.all().count() == 0


async def test_an_ended_or_unknown_room_cannot_be_joined(server, twilio):
    with pytest.raises(TwilioRestException) as unknown:
        await sdk(twilio.conferences("CF" + "0" * 32).participants.create, from_="+1", to="sip:x@127.0.0.1")
    assert unknown.value.status == 404 and unknown.value.code == 20404
    assert await Call.all().count() == 0


HOLD_HZ = 300.0


def _windows(pcm: bytes, frequency: float, window_s: float = 0.5) -> list[float]:
    size = int(8000 * window_s) * 2
    return [level_dbfs(pcm[i:i + size], frequency) for i in range(0, len(pcm) - size + 1, size)]


def _heard_gap_heard(levels: list[float]) -> bool:
    """Heard, then absent for at least two windows in a row, then heard again: a hold and its end."""
    marks = "".join("h" if level > HEARD_DBFS else ("a" if level < ABSENT_DBFS else "-") for level in levels)
    return re.search(r"h.*aa.*h", marks) is not None


async def test_hold_takes_a_participant_out_of_the_room_both_ways_until_unhold(server, application, workdir,
                                                                               twilio):
    url = application.on("/room", ROOM)
    music = application.on("/hold.wav", wav_bytes(1, 1, 8000, 2, tone_pcm(HOLD_HZ, 3.0)))
    async with phones(server, workdir, tone_s=18) as started:
        calls = {login: await sdk(twilio.calls.create, to=f"client:{login}", from_="+16175551212", url=url)
                 for login in started}
        await _members(3)
        [room] = await sdk(twilio.conferences.list, status="in-progress")
        held_sid = calls["c1300"].sid
        participant = twilio.conferences(room.sid).participants(held_sid)
        await asyncio.sleep(3)
        held = await sdk(participant.update, hold=True, hold_url=music)
        assert held.hold is True and held.muted is False
        assert (await sdk(participant.fetch)).hold is True
        await asyncio.sleep(7)  # the music is fetched and decoded once held: long enough for a loaded machine
        back = await sdk(participant.update, hold=False)
        assert back.hold is False
        for phone in started.values():
            await phone.wait_for("terminated", timeout_s=30)
    # The others stop hearing the held phone and hear it again; it stops hearing them (and hears the music).
    for listener in ("c500", "c800"):
        levels = _windows(read_audio(started[listener].heard()), TONES["c1300"])
        assert _heard_gap_heard(levels), (listener, " ".join(str(round(v)) for v in levels))
    held_heard = read_audio(started["c1300"].heard())
    assert _heard_gap_heard(_windows(held_heard, TONES["c500"])), _windows(held_heard, TONES["c500"])
    assert level_dbfs(held_heard, HOLD_HZ) > HEARD_DBFS
    # Nobody else heard the hold music.
    assert level_dbfs(read_audio(started["c500"].heard()), HOLD_HZ) < ABSENT_DBFS

"""<Dial><Conference> with real phones (issue 5): everyone hears all the others and not themselves, mute
silences one voice, and the rooms and their participants are readable and changeable through the API."""

from __future__ import annotations

import asyncio
import contextlib

from models import Call, Notification
from sip.media.decoder import read_audio
from tests.calls.test_dial import ABSENT_DBFS, HEARD_DBFS, add_client
from tests.conftest import ADMIN_SID
from tests.media.tones import level_dbfs
from tests.support.baresip import Baresip
from tests.support.sipp import Sipp

TONES = {"c500": 500.0, "c800": 800.0, "c1300": 1300.0}
WINDOW_S = 0.5


def room(name: str = "blue", **attributes: str) -> str:
    extra = "".join(f' {key}="{value}"' for key, value in attributes.items())
    return f'<Response><Dial><Conference beep="false"{extra}>{name}</Conference></Dial></Response>'


def windows(pcm: bytes, frequency: float) -> list[float]:
    """The tone's level in each half second of what a phone heard."""
    size = int(8000 * WINDOW_S) * 2
    return [level_dbfs(pcm[i:i + size], frequency) for i in range(0, len(pcm) - size + 1, size)]


async def until_music_heard(echoed: list[tuple[float, bytes]], frequency: float, within: float = 20.0) -> None:
    """Until a second of the tone came back from an echoing phone (two half-second windows of it, see windows):
    a waiting room's music. Not what came back within a fixed 2 s: on a loaded machine the room, the fetch of
    its waitUrl and the decoding may take longer than that to begin (the list of rooms was still empty)."""
    heard: list[float] = []
    try:
        async with asyncio.timeout(within):
            while sum(level > HEARD_DBFS for level in heard) < 2:
                await asyncio.sleep(0.1)
                heard = windows(b"".join(pcm for _, pcm in echoed), frequency)
    except TimeoutError:
        raise AssertionError(f"{frequency} Hz not heard for a second within {within} s: {heard}") from None


@contextlib.asynccontextmanager
async def phones(server, workdir, tone_s: float):
    async with contextlib.AsyncExitStack() as stack:
        started = {}
        for login, hz in TONES.items():
            await add_client(server, login)
            started[login] = await stack.enter_async_context(
                Baresip(workdir, registrar=server.sip, user=login, password="1234", tone_s=tone_s, tone_hz=hz))
        for phone in started.values():
            await phone.wait_for(r"200 OK .*\[1 binding\]")
        yield started


async def participants(server, conference_sid: str) -> list[dict]:
    response = await server.get(f"/Accounts/{ADMIN_SID}/Conferences/{conference_sid}/Participants.json")
    assert response.status_code == 200, response.text
    return response.json()["participants"]


async def wait_participants(server, count: int, within: float = 10.0) -> tuple[str, list[dict]]:
    async with asyncio.timeout(within):
        while True:
            listed = (await server.get(f"/Accounts/{ADMIN_SID}/Conferences.json?Status=in-progress")).json()
            if listed["conferences"]:
                sid = listed["conferences"][0]["sid"]
                members = await participants(server, sid)
                if len(members) == count:
                    return sid, members
            await asyncio.sleep(0.1)


async def test_three_phones_each_hear_the_two_others_and_not_themselves(server, application, workdir):
    url = application.on("/room", room())
    async with phones(server, workdir, tone_s=6) as started:
        calls = {login: await server.place(f"client:{login}", url) for login in started}
        sid, members = await wait_participants(server, 3)
        assert {m["call_sid"] for m in members} == {c["sid"] for c in calls.values()}
        for phone in started.values():
            await phone.wait_for("terminated", timeout_s=20)
    for login, phone in started.items():
        heard = read_audio(phone.heard())
        levels = {hz: level_dbfs(heard, hz) for hz in TONES.values()}
        others = [hz for name, hz in TONES.items() if name != login]
        assert all(levels[hz] > HEARD_DBFS for hz in others), (login, levels)
        assert levels[TONES[login]] < ABSENT_DBFS, (login, levels)
    await server.idle()
    conference = (await server.get(f"/Accounts/{ADMIN_SID}/Conferences/{sid}.json")).json()
    assert conference["status"] == "completed" and conference["friendly_name"] == "blue"
    assert await participants(server, sid) == []


async def test_muting_a_participant_through_the_api_silences_it_for_the_others(server, application, workdir):
    url = application.on("/room", room())
    async with phones(server, workdir, tone_s=7) as started:
        calls = {login: await server.place(f"client:{login}", url) for login in started}
        sid, _ = await wait_participants(server, 3)
        await asyncio.sleep(2)  # everybody heard everybody for a while
        muted_sid = calls["c1300"]["sid"]
        response = await server.post(f"/Accounts/{ADMIN_SID}/Conferences/{sid}/Participants/{muted_sid}.json",
                                     {"Mute": "true"})
        assert response.status_code == 200, response.text
        assert response.json()["muted"] is True
        [listed] = [m for m in await participants(server, sid) if m["call_sid"] == muted_sid]
        assert listed["muted"] is True
        for phone in started.values():
            await phone.wait_for("terminated", timeout_s=20)
    heard = read_audio(started["c500"].heard())
    muted_tone = windows(heard, TONES["c1300"])
    still_heard = windows(heard, TONES["c800"])
    # Heard for a while, then gone for good, while the unmuted phone is still heard. Measured from the mute, not
    # from the end of the call: each phone hangs up 7 s after it answered, and on a loaded machine c800 may answer
    # (and so hang up) before c500, whose last windows then hold neither tone.
    assert any(level > HEARD_DBFS for level in muted_tone), muted_tone
    last_heard = max(i for i, level in enumerate(muted_tone) if level > HEARD_DBFS)
    after_mute = slice(last_heard + 2, None)  # the window after the last one heard may straddle the mute
    assert len(muted_tone[after_mute]) >= 4, (muted_tone, still_heard)  # muted for 2 s at least, not the call end
    assert all(level < ABSENT_DBFS for level in muted_tone[after_mute]), muted_tone
    assert all(level > HEARD_DBFS for level in still_heard[after_mute][:3]), (muted_tone, still_heard)
    # The muted phone itself still hears the room.
    assert level_dbfs(read_audio(started["c1300"].heard()), TONES["c800"]) > HEARD_DBFS


async def test_a_removed_participant_goes_on_with_its_document(server, application, workdir):
    after = application.on("/after", "<Response><Hangup/></Response>")
    document = f'<Response><Dial action="{after}"><Conference beep="false">red</Conference></Dial></Response>'
    async with Sipp("uas_answer.xml", workdir) as one, Sipp("uas_answer.xml", workdir) as two:
        first = await server.place(f"sip:one@{one.uri_host}", application.on("/room", document))
        second = await server.place(f"sip:two@{two.uri_host}", application.url("/room"))
        sid, _ = await wait_participants(server, 2)
        path = f"/Accounts/{ADMIN_SID}/Conferences/{sid}/Participants/{first['sid']}.json"
        response = await server.delete(path)
        assert response.status_code == 204, response.text
        [action] = await application.wait_for("/after")
        assert action.params["CallSid"] == first["sid"] and action.params["ConferenceSid"] == sid
        await server.wait_status(first["sid"], "completed")
        assert [m["call_sid"] for m in await participants(server, sid)] == [second["sid"]]
        assert (await server.get(path)).status_code == 404
        await server.post(f"/Accounts/{ADMIN_SID}/Calls/{second['sid']}", {"Status": "completed"})
        await server.wait_status(second["sid"], "completed")
    conference = (await server.get(f"/Accounts/{ADMIN_SID}/Conferences/{sid}.json")).json()
    assert conference["status"] == "completed"


async def test_end_conference_on_exit_ends_the_room_for_everyone(server, application, workdir):
    moderator = application.on("/moderator", room("green", endConferenceOnExit="true"))
    guest = application.on("/guest", room("green") .replace("</Dial>", "</Dial><Hangup/>"))
    async with Sipp("uas_answer.xml", workdir) as one, Sipp("uas_answer.xml", workdir) as two:
        guest_call = await server.place(f"sip:guest@{two.uri_host}", guest)
        host_call = await server.place(f"sip:host@{one.uri_host}", moderator)
        sid, _ = await wait_participants(server, 2)
        await server.post(f"/Accounts/{ADMIN_SID}/Calls/{host_call['sid']}", {"Status": "completed"})
        ended = await server.wait_status(guest_call["sid"], "completed")
    assert ended.status == "completed"
    conference = (await server.get(f"/Accounts/{ADMIN_SID}/Conferences/{sid}.json")).json()
    assert conference["status"] == "completed"
    assert await Call.filter(status="in-progress").count() == 0


async def test_a_room_waits_for_its_moderator_with_music(server, application, workdir):
    from tests.calls.test_media import wav_of

    application.on("/music.xml", "<Response><Play>tone.wav</Play></Response>")
    application.on("/tone.wav", wav_of(1.0, 700.0))
    early = application.on("/early", room("amber", startConferenceOnEnter="false",
                                          waitUrl=application.url("/music.xml")))
    moderator = application.on("/moderator", room("amber"))
    echoed: list[tuple[float, bytes]] = []
    async with Sipp("uas_answer.xml", workdir, args=["-rtp_echo"]) as one, Sipp("uas_answer.xml", workdir) as two:
        call = await server.place(f"sip:early@{one.uri_host}", early)
        await server.wait_status(call["sid"], "in-progress")
        server.engine.owners[call["sid"]].media.listen(lambda frame: echoed.append((frame.arrival, frame.pcm)))
        await until_music_heard(echoed, 700)
        listed = (await server.get(f"/Accounts/{ADMIN_SID}/Conferences.json?FriendlyName=amber")).json()
        assert [c["status"] for c in listed["conferences"]] == ["init"]
        host = await server.place(f"sip:host@{two.uri_host}", moderator)
        await wait_participants(server, 2)
        started = asyncio.get_running_loop().time()
        await asyncio.sleep(2)
        for sid in (call["sid"], host["sid"]):
            await server.post(f"/Accounts/{ADMIN_SID}/Calls/{sid}", {"Status": "completed"})
            await server.wait_status(sid, "completed")
    # The music came back from the echoing phone while it waited (until_music_heard), and stopped once the room
    # started.
    talking = b"".join(pcm for arrival, pcm in echoed if arrival > started + 0.5)
    assert len(talking) > 8000 and level_dbfs(talking, 700) < ABSENT_DBFS


async def test_wait_music_at_a_url_that_does_not_say_it_is_audio(server, application, workdir):
    # Issue 19: the bytes decide. "/music" is an MP3; fetched as a document it is not RCML, so it is played.
    from tests.media.encoded import encoded_tone

    application.on("/music", encoded_tone("mp3", 700.0, 1.0))
    early = application.on("/early", room("jade", startConferenceOnEnter="false", waitUrl=application.url("/music")))
    echoed: list[tuple[float, bytes]] = []
    async with Sipp("uas_answer.xml", workdir, args=["-rtp_echo"]) as one:
        call = await server.place(f"sip:early@{one.uri_host}", early)
        await server.wait_status(call["sid"], "in-progress")
        server.engine.owners[call["sid"]].media.listen(lambda frame: echoed.append((frame.arrival, frame.pcm)))
        await until_music_heard(echoed, 700)
        await server.post(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}", {"Status": "completed"})
        await server.wait_status(call["sid"], "completed")
    assert not await Notification.filter(call_sid=call["sid"])


async def test_a_full_room_turns_the_next_caller_away_and_muted_joins_muted(server, application, workdir):
    after = application.on("/after", "<Response><Hangup/></Response>")
    document = (f'<Response><Dial action="{after}"><Conference beep="false" muted="true" maxParticipants="1">'
                "small</Conference></Dial></Response>")
    async with Sipp("uas_answer.xml", workdir) as one, Sipp("uas_answer.xml", workdir) as two:
        first = await server.place(f"sip:one@{one.uri_host}", application.on("/room", document))
        sid, [member] = await wait_participants(server, 1)
        assert member["call_sid"] == first["sid"] and member["muted"] is True
        second = await server.place(f"sip:two@{two.uri_host}", application.url("/room"))
        [turned_away] = await application.wait_for("/after")
        assert turned_away.params["CallSid"] == second["sid"]
        assert turned_away.params["DialCallStatus"] == "failed"
        await server.wait_status(second["sid"], "completed")
        assert [m["call_sid"] for m in await participants(server, sid)] == [first["sid"]]
        await server.post(f"/Accounts/{ADMIN_SID}/Calls/{first['sid']}", {"Status": "completed"})
        await server.wait_status(first["sid"], "completed")
    notes = (await server.get(f"/Accounts/{ADMIN_SID}/Calls/{second['sid']}/Notifications.json")).json()
    assert any("full" in note["message_text"] for note in notes["notifications"]), notes

"""Live call modification with real peers (issue 6): the docs' walk-throughs, redirects in every state,
Mute on a bridged call, and modifications racing the call's own progress.

Audio is checked the way a person would: each phone sends its own tone, and the analysis of what a phone
recorded says whom it heard, and when.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from models import Call, CallStatus, Recording
from models.call import LIVE_STATUSES
from sip.media.decoder import read_audio
from tests.calls.test_conference import windows
from tests.calls.test_dial import ABSENT_DBFS, HEARD_DBFS, add_client
from tests.calls.test_inbound import NUMBER, add_number
from tests.calls.test_media import play_media
from tests.conftest import ADMIN_SID
from tests.media.tones import level_dbfs
from tests.support.baresip import Baresip
from tests.support.sipp import Sipp

CAROL_HZ, BOB_HZ, ALICE_HZ = 1000.0, 600.0, 750.0
PAUSE = '<Response><Pause length="30"/></Response>'
HANGUP = "<Response><Hangup/></Response>"
# What baresip prints when a call ends: "terminated" for its own hang-up or a BYE, "session closed" when the
# BYE comes in the first moments of the call.
HUNG_UP = r"terminated|session closed"


def call_path(sid: str, json_alias: bool = True) -> str:
    return f"/Accounts/{ADMIN_SID}/Calls.json/{sid}" if json_alias else f"/Accounts/{ADMIN_SID}/Calls/{sid}"


async def live_leg(parent_sid: str, status: str = "in-progress", within: float = 15.0) -> Call:
    """A leg of `parent_sid`'s <Dial>, once it is in `status` (by default: connected)."""
    async with asyncio.timeout(within):
        while True:
            legs = await Call.filter(parent_call_sid=parent_sid, status=status)
            if legs:
                return legs[0]
            await asyncio.sleep(0.05)


async def inbound_call(caller: Baresip, within: float = 20.0) -> Call:
    """The call `caller` placed to the server, once the server has answered it."""
    try:
        async with asyncio.timeout(within):
            while True:
                calls = await Call.filter(direction="inbound", status=CallStatus.IN_PROGRESS.value)
                if calls:
                    return calls[0]
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"no inbound call in progress; the caller said:\n{caller.output()}") from None


@dataclass
class Connected:
    """Carol's call to the number, connected to Bob by the number's <Dial>; `others` are more phones."""

    carol: Baresip
    bob: Baresip
    others: dict[str, Baresip]
    incoming: Call
    bob_leg: Call


@contextlib.asynccontextmanager
async def carol_connected_to_bob(server, application, workdir, *, bob_s: float, carol_s: float,
                                 others: dict[str, tuple[float, float]] | None = None
                                 ) -> AsyncIterator[Connected]:
    """Registers Bob (and `others`: login -> (tone Hz, seconds)); Carol calls the number, whose RCML dials
    Bob; yields once Bob's leg is in progress. Each phone hangs up when its tone of so many seconds ends."""
    others = others or {}
    for login in ("bob", "carol", *others):
        await add_client(server, login)
    await add_number(server, application.on("/voice", "<Response><Dial><Client>bob</Client></Dial></Response>"))
    host, port = server.sip
    async with contextlib.AsyncExitStack() as stack:
        async def phone(user: str, hz: float, seconds: float, dial: str | None = None) -> Baresip:
            return await stack.enter_async_context(Baresip(
                workdir, registrar=server.sip, user=user, password="1234", tone_s=seconds, tone_hz=hz, dial=dial))

        bob = await phone("bob", BOB_HZ, bob_s)
        extra = {login: await phone(login, hz, seconds) for login, (hz, seconds) in others.items()}
        for registered in (bob, *extra.values()):
            await registered.wait_for(r"200 OK .*\[1 binding\]")
        carol = await phone("carol", CAROL_HZ, carol_s, dial=f"sip:{NUMBER}@{host}:{port}")
        incoming = await inbound_call(carol)
        yield Connected(carol, bob, extra, incoming, await live_leg(incoming.sid))


def heard(phone: Baresip, hz: float) -> float:
    return level_dbfs(read_audio(phone.heard()), hz)


async def assert_all_ended_once(server, application, status_path: str | None = None) -> list[Call]:
    """Every call reached exactly one final status; with `status_path`, exactly one completed callback each."""
    await server.idle()
    calls = await Call.all()
    assert calls and all(call.status not in {s.value for s in LIVE_STATUSES} for call in calls), \
        [(c.sid, c.status) for c in calls]
    assert all(call.end_time is not None for call in calls)
    if status_path is not None:
        await asyncio.sleep(0.5)  # callbacks are sent in the background
        finals = [r.params["CallSid"] for r in application.requests_to(status_path)
                  if r.params["CallStatus"] not in {s.value for s in LIVE_STATUSES}]
        assert sorted(finals) == sorted({c.sid for c in calls if c.status_callback}), finals
    return calls


# --- the docs' walk-throughs --------------------------------------------------------------------------------


async def test_transfer_to_alice_walk_through(server, application, workdir):
    """An incoming call connected to Bob by <Dial>; Bob asks for a transfer, and the application redirects
    the incoming call to the demo dialalice.xml: Bob is hung up and Alice hears the caller."""
    async with carol_connected_to_bob(server, application, workdir, bob_s=20, carol_s=12,
                                      others={"alice": (ALICE_HZ, 4)}) as connected:
        carol, bob, alice, incoming = connected.carol, connected.bob, connected.others["alice"], connected.incoming
        await asyncio.sleep(1.5)
        response = await server.post(call_path(incoming.sid),
                                     {"Url": f"{server.base_url}/restcomm/demos/dialalice.xml"})
        assert response.status_code == 200, response.text
        assert response.json()["sid"] == incoming.sid and response.json()["status"] == "in-progress"
        await bob.wait_for(HUNG_UP, timeout_s=10)  # Bob got his BYE
        alice_leg = await live_leg(incoming.sid)
        assert alice_leg.sid != connected.bob_leg.sid
        await alice.wait_for(HUNG_UP, timeout_s=15)
        await carol.wait_for(HUNG_UP, timeout_s=15)
    assert heard(alice, CAROL_HZ) > HEARD_DBFS  # the caller, transferred to Alice
    assert heard(carol, ALICE_HZ) > HEARD_DBFS  # and Alice heard by the caller
    assert heard(carol, BOB_HZ) > HEARD_DBFS  # Bob before the transfer
    calls = {c.sid: c for c in await assert_all_ended_once(server, application)}
    assert calls[connected.bob_leg.sid].status == calls[alice_leg.sid].status == "completed"
    assert calls[incoming.sid].status == "completed"


async def test_conference_walk_through(server, application, workdir):
    """The incoming call connected to Bob is redirected into the demo conference.xml; then the application
    calls Bob with a new API call whose Url is the same conference: the two hear each other there."""
    conference_url = f"{server.base_url}/restcomm/demos/conference.xml"
    async with carol_connected_to_bob(server, application, workdir, bob_s=20, carol_s=12,
                                      others={"dave": (ALICE_HZ, 5)}) as connected:
        carol, bob, dave, incoming = connected.carol, connected.bob, connected.others["dave"], connected.incoming
        response = await server.post(call_path(incoming.sid), {"Url": conference_url})
        assert response.status_code == 200, response.text
        await bob.wait_for(HUNG_UP, timeout_s=10)
        # The walk-through invites a participant with a new call (here Dave, as Bob's phone has hung up).
        invited = await server.place("client:dave", conference_url, From=incoming.sid)
        await dave.wait_for(HUNG_UP, timeout_s=15)
        listed = await server.get(f"/Accounts/{ADMIN_SID}/Conferences.json?FriendlyName=RestcommConference")
        [conference] = listed.json()["conferences"]
        await server.post(call_path(incoming.sid), {"Status": "completed"})
        await carol.wait_for(HUNG_UP, timeout_s=10)
    assert heard(dave, CAROL_HZ) > HEARD_DBFS and heard(carol, ALICE_HZ) > HEARD_DBFS
    calls = {c.sid: c for c in await assert_all_ended_once(server, application)}
    assert calls[invited["sid"]].status == "completed"
    final = (await server.get(f"/Accounts/{ADMIN_SID}/Conferences/{conference['sid']}.json")).json()
    assert final["status"] == "completed"


async def test_move_connected_call_leg_takes_both_legs_into_the_conference(server, application, workdir):
    """The docs' second example: Url=conference.xml with MoveConnectedCallLeg=true moves the caller and Bob
    into the room together; Bob is not hung up and the two go on hearing each other."""
    async with carol_connected_to_bob(server, application, workdir, bob_s=8, carol_s=20) as connected:
        carol, bob, incoming, bob_leg = connected.carol, connected.bob, connected.incoming, connected.bob_leg
        await asyncio.sleep(1)
        response = await server.post(call_path(incoming.sid, json_alias=False), {
            "Url": f"{server.base_url}/restcomm/demos/conference.xml", "MoveConnectedCallLeg": "true"})
        assert response.status_code == 200, response.text
        assert response.text.lstrip().startswith("<RestcommResponse>")
        async with asyncio.timeout(10):
            while True:
                listed = (await server.get(f"/Accounts/{ADMIN_SID}/Conferences.json")).json()["conferences"]
                if listed:
                    members = (await server.get(
                        f"/Accounts/{ADMIN_SID}/Conferences/{listed[0]['sid']}/Participants.json")).json()
                    if len(members["participants"]) == 2:
                        break
                await asyncio.sleep(0.1)
        assert {m["call_sid"] for m in members["participants"]} == {incoming.sid, bob_leg.sid}
        await bob.wait_for(HUNG_UP, timeout_s=15)  # at the end of its own tone: its BYE, not ours
        assert (await Call.get(sid=bob_leg.sid)).status in ("in-progress", "completed")
        await server.post(call_path(incoming.sid), {"Status": "completed"})
        await carol.wait_for(HUNG_UP, timeout_s=10)
    bob_heard = windows(read_audio(bob.heard()), CAROL_HZ)
    # Carol is heard all along: in the bridge, then in the room (a gap of at most a window while moving).
    assert sum(level < ABSENT_DBFS for level in bob_heard[1:-1]) <= 1, bob_heard
    assert heard(carol, BOB_HZ) > HEARD_DBFS
    await assert_all_ended_once(server, application)


async def test_hold_and_unhold_by_moving_both_legs_into_rooms(server, application, workdir):
    """Hold: both legs go into rooms of their own (each hears nobody); unhold: both into one room."""
    application.on("/hold", lambda request: (
        f'<Response><Dial><Conference beep="false">hold-{request.params["CallSid"]}</Conference></Dial>'
        "</Response>", 200))
    together = application.on("/together", '<Response><Dial><Conference beep="false">together</Conference>'
                                           "</Dial></Response>")
    async with carol_connected_to_bob(server, application, workdir, bob_s=12, carol_s=20) as connected:
        carol, bob, incoming = connected.carol, connected.bob, connected.incoming
        await asyncio.sleep(2)
        held = await server.post(call_path(incoming.sid), {"Url": application.url("/hold"),
                                                           "MoveConnectedCallLeg": "true"})
        assert held.status_code == 200, held.text
        await application.wait_for("/hold", count=2)
        await asyncio.sleep(3)
        for sid in (incoming.sid, connected.bob_leg.sid):
            response = await server.post(call_path(sid), {"Url": together})
            assert response.status_code == 200, response.text
        await bob.wait_for(HUNG_UP, timeout_s=15)
        await server.post(call_path(incoming.sid), {"Status": "completed"})
        await carol.wait_for(HUNG_UP, timeout_s=10)
    levels = windows(read_audio(carol.heard()), BOB_HZ)
    # Heard, then a silent stretch of two seconds or more (on hold), then heard again.
    first_gap = next(i for i, level in enumerate(levels) if i > 0 and level < ABSENT_DBFS)
    gap = 0
    while first_gap + gap < len(levels) and levels[first_gap + gap] < ABSENT_DBFS:
        gap += 1
    assert levels[0] > HEARD_DBFS or levels[1] > HEARD_DBFS, levels
    assert gap >= 4, levels
    assert any(level > HEARD_DBFS for level in levels[first_gap + gap:]), levels
    await assert_all_ended_once(server, application)


# --- redirects in every state ---------------------------------------------------------------------------------


async def test_a_redirect_stops_play_gather_and_record_at_once(server, application, workdir):
    after = application.on("/after", HANGUP)
    application.on("/recorded", "<Response><Say>never run</Say></Response>")
    documents = {
        "/play": f'<Response><Play loop="0">{server.base_url}/restcomm/demos/audio/hello.wav</Play></Response>',
        "/gather": '<Response><Gather timeout="60" numDigits="4" action="/gathered"><Pause length="60"/></Gather>'
                   "</Response>",
        "/record": '<Response><Record maxLength="60" timeout="60" playBeep="false" action="/recorded"/></Response>',
    }
    for count, (path, document) in enumerate(documents.items(), start=1):
        async with Sipp("uas_answer_media.xml", workdir, fill=play_media("g711a.pcap")) as peer:
            call = await server.place(f"sip:bob@{peer.uri_host}", application.on(path, document))
            await server.wait_status(call["sid"], "in-progress")
            await asyncio.sleep(2.5)
            response = await server.post(call_path(call["sid"]), {"Url": after, "Method": "GET"})
            assert response.status_code == 200, response.text
            redirected = (await application.wait_for("/after", count=count))[-1]
            assert redirected.method == "GET" and redirected.params["CallSid"] == call["sid"]
            await server.wait_status(call["sid"], "completed", within=5)
            assert await peer.wait() == 0, peer.explain()  # the BYE of the <Hangup/>
    assert application.requests_to("/gathered") == []  # a redirected Gather does not report to its action
    # What Record had heard until the redirect is kept, and reported to its action (whose answer is not run).
    [recording] = await Recording.all()
    assert recording.duration >= 1.0
    [report] = await application.wait_for("/recorded")
    assert report.params["RecordingUrl"].endswith(f"/Recordings/{recording.sid}.wav")
    await assert_all_ended_once(server, application)


async def test_redirecting_a_caller_whose_dial_is_ringing_cancels_the_leg(server, application, workdir):
    next_url = application.on("/next", HANGUP)
    async with (Sipp("uas_ring_cancel.xml", workdir) as ringing, Sipp("uas_answer.xml", workdir) as caller):
        document = f"<Response><Dial><Sip>sip:callee@{ringing.uri_host}</Sip></Dial></Response>"
        call = await server.place(f"sip:alice@{caller.uri_host}", application.on("/dial", document))
        await server.wait_status(call["sid"], "in-progress")
        await live_leg(call["sid"], "ringing")
        response = await server.post(call_path(call["sid"]), {"Url": next_url})
        assert response.status_code == 200, response.text
        assert await ringing.wait() == 0, ringing.explain()  # CANCEL on the wire
        await application.wait_for("/next")
        assert await caller.wait() == 0, caller.explain()
    [leg] = await Call.filter(parent_call_sid=call["sid"])
    assert leg.status == "canceled"
    await assert_all_ended_once(server, application)


async def test_a_ringing_dial_leg_redirected_leaves_the_dial(server, application, workdir):
    """Status=canceled does not touch a caller whose Dial is ringing (the docs: that caller is in progress);
    the ringing leg redirected leaves the Dial, which has nobody left to ring and goes on to its action,
    while the leg rings on, on its own, until it is cancelled in turn."""
    dialed = application.on("/dialed", HANGUP)
    async with Sipp("uas_ring_cancel.xml", workdir) as ringing, Sipp("uas_answer.xml", workdir) as caller:
        document = (f'<Response><Dial action="{dialed}"><Sip>sip:callee@{ringing.uri_host}</Sip></Dial>'
                    "</Response>")
        call = await server.place(f"sip:alice@{caller.uri_host}", application.on("/dial", document))
        await server.wait_status(call["sid"], "in-progress")
        leg = await live_leg(call["sid"], "ringing")
        canceled = await server.post(call_path(call["sid"]), {"Status": "canceled"})
        assert canceled.status_code == 200 and canceled.json()["status"] == "in-progress", canceled.text
        response = await server.post(call_path(leg.sid), {"Url": application.on("/leg", HANGUP)})
        assert response.status_code == 200 and response.json()["status"] == "ringing", response.text
        [action] = await application.wait_for("/dialed")
        assert action.params["DialCallStatus"] == "canceled"
        assert await caller.wait() == 0, caller.explain()
        await server.wait_status(call["sid"], "completed")
        assert (await Call.get(sid=leg.sid)).status == "ringing"
        cancel = await server.post(call_path(leg.sid), {"Status": "canceled"})
        assert cancel.status_code == 200 and cancel.json()["status"] == "canceled", cancel.text
        assert await ringing.wait() == 0, ringing.explain()  # its CANCEL
    assert application.requests_to("/leg") == []
    await assert_all_ended_once(server, application)


async def test_mute_on_a_bridged_call_silences_that_side_only(server, application, workdir):
    async with carol_connected_to_bob(server, application, workdir, bob_s=9, carol_s=20) as connected:
        carol, bob, incoming = connected.carol, connected.bob, connected.incoming
        await asyncio.sleep(2)
        before = (await server.get(call_path(incoming.sid))).json()
        muted = await server.post(call_path(incoming.sid), {"Mute": "true"})
        assert muted.status_code == 200, muted.text
        # The response shows the change, as every later GET does.
        assert muted.json()["muted"] is True and before["muted"] is False
        assert muted.json()["date_updated"] > before["date_updated"]
        assert (await server.get(call_path(incoming.sid))).json()["muted"] is True
        await asyncio.sleep(3)
        unmuted = await server.post(call_path(incoming.sid), {"Mute": "false"})
        assert unmuted.status_code == 200, unmuted.text
        assert unmuted.json()["muted"] is False
        await bob.wait_for(HUNG_UP, timeout_s=15)
        await carol.wait_for(HUNG_UP, timeout_s=10)
    carol_levels = windows(read_audio(bob.heard()), CAROL_HZ)
    silent = [i for i, level in enumerate(carol_levels) if level < ABSENT_DBFS]
    assert len(silent) >= 4, carol_levels  # muted for about three seconds
    assert any(level > HEARD_DBFS for level in carol_levels[:silent[0]]), carol_levels
    assert any(level > HEARD_DBFS for level in carol_levels[silent[-1] + 1:]), carol_levels
    # Muting Carol does not mute Bob for her.
    assert all(level > HEARD_DBFS for level in windows(read_audio(carol.heard()), BOB_HZ)[2:10])
    await assert_all_ended_once(server, application)


# --- races ---------------------------------------------------------------------------------------------------


async def test_a_redirect_and_a_hangup_at_the_same_moment(server, application, workdir):
    status = application.on("/status", "")
    for _ in range(5):
        async with Sipp("uas_answer.xml", workdir) as peer:
            call = await server.place(f"sip:bob@{peer.uri_host}", application.on("/pause", PAUSE),
                                      StatusCallback=status)
            await server.wait_status(call["sid"], "in-progress")
            redirect, hangup = await asyncio.gather(
                server.post(call_path(call["sid"]), {"Url": application.on("/next", PAUSE)}),
                server.post(call_path(call["sid"]), {"Status": "completed"}))
            assert hangup.status_code == 200 and hangup.json()["status"] == "completed", hangup.text
            assert redirect.status_code in (200, 409), redirect.text  # before the hangup, or after it
            if redirect.status_code == 409:
                assert redirect.json()["code"] == 21220
            assert await peer.wait() == 0, peer.explain()
    await assert_all_ended_once(server, application, "/status")


async def test_a_cancel_arriving_as_the_callee_answers(server, application, workdir):
    """Canceled while ringing ends the call canceled (CANCEL, or BYE if the 200 OK crossed it); once answered
    the cancel changes nothing. Either way one final status and one completed callback."""
    status = application.on("/status", "")
    outcomes = set()
    for delay in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4):
        async with Sipp("uas_answer.xml", workdir) as peer:
            call = await server.place(f"sip:bob@{peer.uri_host}", application.on("/hang", HANGUP),
                                      StatusCallback=status)
            await asyncio.sleep(delay)
            response = await server.post(call_path(call["sid"]), {"Status": "canceled"})
            assert response.status_code in (200, 409), response.text
            final = await server.wait_status(call["sid"], "canceled", "completed")
            outcomes.add(final.status)
            await peer.wait()
    assert outcomes <= {"canceled", "completed"}
    await assert_all_ended_once(server, application, "/status")


async def test_fifty_redirects_in_a_row(server, application, workdir):
    status = application.on("/status", "")
    first, second = application.on("/a", PAUSE), application.on("/b", PAUSE)
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:bob@{peer.uri_host}", first, StatusCallback=status)
        await server.wait_status(call["sid"], "in-progress")
        for index in range(50):
            response = await server.post(call_path(call["sid"]), {"Url": second if index % 2 == 0 else first})
            assert response.status_code == 200 and response.json()["status"] == "in-progress", response.text
        last = await server.post(call_path(call["sid"]), {"Url": application.on("/last", HANGUP)})
        assert last.status_code == 200
        await application.wait_for("/last")
        await server.wait_status(call["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    assert len(application.requests_to("/a")) + len(application.requests_to("/b")) <= 51
    await assert_all_ended_once(server, application, "/status")
    ended = await server.post(call_path(call["sid"]), {"Url": first})
    assert ended.status_code == 409 and ended.json()["code"] == 21220

"""Conference rooms across nodes (issue 15 point 4): one room per name, whichever node each caller is on.

Two real nodes on 127.0.0.2 and 127.0.0.3, one PostgreSQL database, two real phones (baresip) sending a tone
each. The first caller's call runs on node A, which opens the room; the second caller's call runs on node B,
which joins it to A's room over an internal SIP leg. Each must hear the other; the room is listed once, with
both participants, through either node; muting B's caller through B silences it in the room; and once both
hung up nothing is left live on either node: no call, no room leg, no RTP stream, no room.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import httpx

from sip.media.decoder import read_audio
from testkit import metrics
from testkit.cluster import wait_status
from tests.calls.test_conference import WINDOW_S, windows
from tests.calls.test_dial import ABSENT_DBFS, HEARD_DBFS
from tests.conftest import ADMIN_SID
from tests.media.tones import level_dbfs
from tests.support.baresip import Baresip
from tests.support.sipp import Sipp

ROOM = '<Response><Dial><Conference beep="false">standup</Conference></Dial></Response>'
A_HZ, B_HZ = 500.0, 800.0


async def rooms_listed(api: httpx.AsyncClient) -> list[dict]:
    response = await api.get(f"/Accounts/{ADMIN_SID}/Conferences.json?Status=in-progress")
    assert response.status_code == 200, response.text
    return response.json()["conferences"]


async def participants(api: httpx.AsyncClient, conference_sid: str) -> list[dict]:
    response = await api.get(f"/Accounts/{ADMIN_SID}/Conferences/{conference_sid}/Participants.json")
    assert response.status_code == 200, response.text
    return response.json()["participants"]


async def wait_participants(api: httpx.AsyncClient, count: int, within: float = 15) -> tuple[str, list[dict]]:
    async with asyncio.timeout(within):
        while True:
            listed = await rooms_listed(api)
            if listed:
                members = await participants(api, listed[0]["sid"])
                if len(members) == count:
                    return listed[0]["sid"], members
            await asyncio.sleep(0.1)


async def place(api: httpx.AsyncClient, to: str, url: str) -> str:
    created = await api.post(f"/Accounts/{ADMIN_SID}/Calls.json", data={"From": "+15550001", "To": to, "Url": url})
    assert created.status_code == 200, created.text
    return created.json()["sid"]


async def live_on(node) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=10) as client:
        scrape = metrics.samples((await client.get(f"{node.base_url}/metrics")).text)
    calls = sum(v for (name, _), v in scrape.items() if name == "restcomm_live_calls")
    return {"calls": calls, "rooms": metrics.value(scrape, "restcomm_conference_rooms"),
            "seated": metrics.value(scrape, "restcomm_room_legs", side="seated"),
            "joined": metrics.value(scrape, "restcomm_room_legs", side="joined"),
            "rtp": metrics.value(scrape, "restcomm_rtp_streams")}


async def nothing_live(*nodes, within: float = 15) -> None:
    idle = {"calls": 0, "rooms": 0, "seated": 0, "joined": 0, "rtp": 0}
    seen: list[dict[str, float]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            while True:
                seen = [await live_on(node) for node in nodes]
                if all(state == idle for state in seen):
                    return
                await asyncio.sleep(0.2)
    raise AssertionError(f"still live: {seen}\n" + "\n".join(node.log() for node in nodes))


@contextlib.asynccontextmanager
async def phone(api, node, workdir, login: str, hz: float, tone_s: float):
    added = await api.post(f"/Accounts/{ADMIN_SID}/Clients.json", data={"Login": login, "Password": "1234"})
    assert added.status_code == 201, added.text
    async with Baresip(workdir, registrar=node.sip, user=login, password="1234", tone_s=tone_s, tone_hz=hz,
                       lifetime_s=60) as started:
        await started.wait_for(r"200 OK .*\[1 binding\]")
        yield started


async def test_callers_on_two_nodes_share_one_room(two_nodes, application, tmp_path):
    a, b = two_nodes
    url = application.on("/room", ROOM)
    async with a.api() as via_a, b.api() as via_b:
        async with (phone(via_a, a, tmp_path, "alice", A_HZ, tone_s=14) as alice,
                    phone(via_b, b, tmp_path, "bob", B_HZ, tone_s=12) as bob):
            alice_call = await place(via_a, "client:alice", url)
            conference, _ = await wait_participants(via_a, 1)
            bob_call = await place(via_b, "client:bob", url)
            # One room, listed alike through both nodes, with both callers in it.
            for api in (via_a, via_b):
                sid, members = await wait_participants(api, 2)
                assert sid == conference
                assert {m["call_sid"] for m in members} == {alice_call, bob_call}
                assert [r["sid"] for r in await rooms_listed(api)] == [conference]
            assert (await live_on(a))["seated"] == 1 and (await live_on(b))["joined"] == 1
            await asyncio.sleep(4)  # both heard each other for a while
            # Bob's call runs on B, his seat in A's room: muted through B, forwarded to A.
            path = f"/Accounts/{ADMIN_SID}/Conferences/{conference}/Participants/{bob_call}.json"
            muted = await via_b.post(path, data={"Mute": "true"})
            assert muted.status_code == 200, muted.text
            assert muted.json()["muted"] is True
            assert (await via_a.get(path)).json()["muted"] is True
            await bob.wait_for("terminated", timeout_s=30)
            await alice.wait_for("terminated", timeout_s=30)
        alice_heard, bob_heard = read_audio(alice.heard()), read_audio(bob.heard())
        await nothing_live(a, b)
        for api in (via_a, via_b):
            room = (await api.get(f"/Accounts/{ADMIN_SID}/Conferences/{conference}.json")).json()
            assert room["status"] == "completed"
            assert await participants(api, conference) == []
            for sid in (alice_call, bob_call):
                assert (await api.get(f"/Accounts/{ADMIN_SID}/Calls/{sid}.json")).json()["status"] == "completed"
    # Each heard the other and not itself; Bob, muted, was heard at first and not at the end (his last
    # seconds, while Alice's phone was still recording); he still heard Alice after his mute.
    assert level_dbfs(bob_heard, A_HZ) > HEARD_DBFS and level_dbfs(bob_heard, B_HZ) < ABSENT_DBFS
    assert level_dbfs(alice_heard, A_HZ) < ABSENT_DBFS
    from_bob = windows(alice_heard, B_HZ)
    assert any(level > HEARD_DBFS for level in from_bob[:8]), from_bob
    muted_windows = int(3 / WINDOW_S)
    assert all(level < ABSENT_DBFS for level in from_bob[-muted_windows:]), from_bob
    assert level_dbfs(bob_heard[-16000 * 3:], A_HZ) > HEARD_DBFS


async def test_a_room_leg_needs_the_cluster_secret(two_nodes, tmp_path):
    """An INVITE that claims to be a room leg without the cluster's signature is refused (403) by the node."""
    a, _ = two_nodes
    async with Sipp("uac_room_leg_forged.xml", tmp_path, target=a.sip, args=["-s", "room"], fill={"code": "403"},
                    lifetime_s=20) as caller:
        assert await caller.wait(15) == 0, caller.explain()
    assert "room leg from" in a.log()


def room_document(*, end_on_exit: bool = False, action: str = "") -> str:
    attributes = ' endConferenceOnExit="true"' if end_on_exit else ""
    dial = f' action="{action}"' if action else ""
    return (f'<Response><Dial{dial}><Conference beep="false"{attributes}>team</Conference></Dial>'
            "<Hangup/></Response>")


async def test_removal_and_the_end_of_the_room_reach_callers_on_the_other_node(two_nodes, application, tmp_path):
    a, b = two_nodes
    moderator = application.on("/moderator", room_document(end_on_exit=True))
    after = application.on("/after", "<Response><Hangup/></Response>")
    guest = application.on("/guest", room_document(action=after))
    async with (a.api() as via_a, b.api() as via_b, Sipp("uas_answer.xml", tmp_path, lifetime_s=90) as one,
                Sipp("uas_answer.xml", tmp_path, lifetime_s=90) as two,
                Sipp("uas_answer.xml", tmp_path, lifetime_s=90) as three):
        host = await place(via_a, f"sip:host@{one.uri_host}", moderator)
        conference, _ = await wait_participants(via_a, 1)
        removed = await place(via_b, f"sip:guest@{two.uri_host}", guest)
        await wait_participants(via_b, 2)
        # Removed through its own node (B): the room's node (A) takes it out; its Dial's action runs on B.
        response = await via_b.delete(f"/Accounts/{ADMIN_SID}/Conferences/{conference}/Participants/{removed}.json")
        assert response.status_code == 204, response.text
        [action] = await application.wait_for("/after")
        assert action.params["CallSid"] == removed and action.params["ConferenceSid"] == conference
        assert action.params["DialCallStatus"] == "completed"
        await wait_status(via_b, removed, "completed")
        assert await two.wait(15) == 0, two.explain()
        assert [m["call_sid"] for m in await participants(via_a, conference)] == [host]
        # The moderator leaves (hung up through B): the room ends, and so does the seat of B's next caller.
        stays = await place(via_b, f"sip:guest@{three.uri_host}", application.on("/stays", room_document()))
        await wait_participants(via_a, 2)
        ended = await via_b.post(f"/Accounts/{ADMIN_SID}/Calls/{host}.json", data={"Status": "completed"})
        assert ended.status_code == 200, ended.text
        await wait_status(via_b, stays, "completed")
        assert await three.wait(15) == 0, three.explain()
        assert await one.wait(15) == 0, one.explain()
        await nothing_live(a, b)
        room = (await via_b.get(f"/Accounts/{ADMIN_SID}/Conferences/{conference}.json")).json()
        assert room["status"] == "completed"


async def test_a_room_whose_node_dies_lets_its_callers_on_other_nodes_go(two_nodes, application, tmp_path):
    a, b = two_nodes
    url = application.on("/room", room_document())
    async with (b.api() as via_b, Sipp("uas_answer.xml", tmp_path, lifetime_s=90) as one,
                Sipp("uas_answer.xml", tmp_path, lifetime_s=90) as two):
        async with a.api() as via_a:
            await place(via_a, f"sip:host@{one.uri_host}", url)
            conference, _ = await wait_participants(via_a, 1)
        guest = await place(via_b, f"sip:guest@{two.uri_host}", url)
        await wait_participants(via_b, 2)
        a.signal(signal.SIGKILL)
        # A survivor (B) closes A's room once A's lease (5 s) ran out; B's caller leaves it as from a room that
        # ended: its document goes on (<Hangup/>) and the call completes, its leg and RTP gone.
        done = await wait_status(via_b, guest, "completed", within=30)
        assert done["status"] == "completed"
        assert await two.wait(15) == 0, two.explain()
        room = (await via_b.get(f"/Accounts/{ADMIN_SID}/Conferences/{conference}.json")).json()
        assert room["status"] == "completed"
        await nothing_live(b)

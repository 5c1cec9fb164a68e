"""Any node takes any API request (issue 15 point 2): a change to a call another node runs is made by that node.

Two real nodes on 127.0.0.2 and 127.0.0.3, one PostgreSQL database, a sipp callee. The call is placed
through node A; the changes are sent to node B, whose answer is what A did.
"""

from __future__ import annotations

import asyncio

import httpx

from calls.cluster.forward import SECRET_HEADER
from testkit.cluster import CLUSTER_SECRET, wait_status
from tests.conftest import ADMIN_SID, ADMIN_TOKEN
from tests.support.sipp import Sipp


async def place(api, callee: Sipp, url: str, **extra: str) -> str:
    created = await api.post(f"/Accounts/{ADMIN_SID}/Calls.json", data={
        "From": "+15550001", "To": f"sip:alice@{callee.uri_host}", "Url": url, **extra})
    assert created.status_code == 200, created.text
    return created.json()["sid"]


async def test_hang_up_and_redirect_through_the_other_node(two_nodes, application, tmp_path):
    a, b = two_nodes
    first = application.on("/first", '<Response><Pause length="30"/></Response>')
    second = application.on("/second", '<Response><Pause length="2"/><Hangup/></Response>')
    status = application.on("/status", "")
    async with a.api() as via_a, b.api() as via_b:
        # Status=completed through B: the callee gets its BYE and the record is right.
        async with Sipp("uas_answer.xml", tmp_path, lifetime_s=40) as callee:
            sid = await place(via_a, callee, first, StatusCallback=status)
            await wait_status(via_a, sid, "in-progress")
            await asyncio.sleep(2)
            ended = await via_b.post(f"/Accounts/{ADMIN_SID}/Calls/{sid}.json", data={"Status": "completed"})
            assert ended.status_code == 200, ended.text
            assert ended.json()["status"] == "completed" and ended.json()["duration"] >= 2
            # B answers with A's row as A wrote it (sent back with the outcome, not read again): the record.
            assert ended.json() == (await via_a.get(f"/Accounts/{ADMIN_SID}/Calls/{sid}.json")).json()
            assert await callee.wait() == 0, callee.explain()
            assert any(m.startswith("BYE ") for m in callee.received())
        [final] = await application.wait_for("/status")
        assert final.params["CallStatus"] == "completed" and final.params["CallDuration"] == str(
            ended.json()["duration"])
        # Changing it again through B: 409, as on A.
        again = await via_b.post(f"/Accounts/{ADMIN_SID}/Calls/{sid}.json", data={"Status": "completed"})
        assert again.status_code == 409, again.text

        # Url through B: the new document is fetched (only A runs the call) and runs to its end.
        async with Sipp("uas_answer.xml", tmp_path, lifetime_s=40) as callee:
            sid = await place(via_a, callee, first)
            await wait_status(via_a, sid, "in-progress")
            moved = await via_b.post(f"/Accounts/{ADMIN_SID}/Calls/{sid}.json", data={"Url": second})
            assert moved.status_code == 200, moved.text
            assert moved.json()["status"] == "in-progress"
            [fetch] = await application.wait_for("/second")
            assert fetch.params["CallSid"] == sid
            done = await wait_status(via_b, sid, "completed")
            assert 2 <= done["duration"] <= 4
            assert await callee.wait() == 0, callee.explain()


async def test_the_internal_route_wants_the_cluster_secret(two_nodes):
    a, _ = two_nodes
    route = f"{a.base_url}/internal/cluster/calls/CA{'0' * 32}/change"
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.post(route, json={"status": "completed"})).status_code == 403
        wrong = await client.post(route, json={"status": "completed"}, headers={SECRET_HEADER: "guess"})
        assert wrong.status_code == 403
        tenant = await client.post(route, json={"status": "completed"}, auth=(ADMIN_SID, ADMIN_TOKEN))
        assert tenant.status_code == 403
        unknown = await client.post(route, json={"status": "completed"}, headers={SECRET_HEADER: CLUSTER_SECRET})
        assert unknown.status_code == 404 and unknown.json() == {"outcome": "not-here"}
        bad = await client.post(route, json={"status": 3}, headers={SECRET_HEADER: CLUSTER_SECRET})
        assert bad.status_code == 400


async def test_participants_are_muted_and_removed_through_the_other_node(two_nodes, application, tmp_path):
    """Issue 15 point 4, its API half: the room runs on A, its participant is changed through B."""
    a, b = two_nodes
    room = application.on("/room", "<Response><Dial><Conference>standup</Conference></Dial><Hangup/></Response>")
    async with a.api() as via_a, b.api() as via_b:
        number = await via_a.post(f"/Accounts/{ADMIN_SID}/IncomingPhoneNumbers.json",
                                  data={"PhoneNumber": "+15551234567", "VoiceUrl": room})
        assert number.status_code == 201, number.text
        async with Sipp("uac_proxied.xml", tmp_path, target=a.sip, args=["-s", "15551234567"],
                        lifetime_s=40) as caller:
            async with asyncio.timeout(15):
                while True:
                    listed = (await via_b.get(f"/Accounts/{ADMIN_SID}/Conferences.json")).json()
                    rooms = listed["conferences"] if isinstance(listed, dict) else listed
                    if rooms:
                        conference = rooms[0]["sid"]
                        people = (await via_b.get(f"/Accounts/{ADMIN_SID}/Conferences/{conference}/"
                                                  "Participants.json")).json()
                        people = people["participants"] if isinstance(people, dict) else people
                        if people:
                            break
                    await asyncio.sleep(0.2)
            participant = f"/Accounts/{ADMIN_SID}/Conferences/{conference}/Participants/{people[0]['call_sid']}.json"
            muted = await via_b.post(participant, data={"Mute": "true"})
            assert muted.status_code == 200, muted.text
            assert muted.json()["muted"] is True
            assert (await via_a.get(participant)).json()["muted"] is True
            removed = await via_b.delete(participant)
            assert removed.status_code == 204, removed.text
            # Out of the room, the caller's document goes on to <Hangup/>: its BYE comes from A.
            assert await caller.wait(15) == 0, caller.explain()
        gone = await via_b.post(participant, data={"Mute": "false"})
        assert gone.status_code in (404, 409), gone.text

"""Mute through the other node (issue 15's tests): the owner mutes the call, and its audio goes silent.

Two real nodes on 127.0.0.2 and 127.0.0.3, one PostgreSQL database, two real phones (baresip) sending a tone
each. Node A places a call to Alice whose document dials Bob; `Muted=true` for Alice's call is sent to node
B, which forwards it to A. Bob must hear Alice before the mute and not after it; Alice still hears Bob.
"""

from __future__ import annotations

import asyncio

from sip.media.decoder import read_audio
from testkit.cluster import wait_status
from tests.calls.test_conference import WINDOW_S, windows
from tests.calls.test_dial import ABSENT_DBFS, HEARD_DBFS
from tests.cluster.test_rooms import nothing_live, phone, place
from tests.conftest import ADMIN_SID

ALICE_HZ, BOB_HZ = 500.0, 800.0
DIAL_BOB = "<Response><Dial><Client>bob</Client></Dial></Response>"


async def test_a_call_muted_through_the_other_node_goes_silent(two_nodes, application, tmp_path):
    a, b = two_nodes
    url = application.on("/dial-bob", DIAL_BOB)
    async with a.api() as via_a, b.api() as via_b:
        async with (phone(via_a, a, tmp_path, "alice", ALICE_HZ, tone_s=16) as alice,
                    phone(via_a, a, tmp_path, "bob", BOB_HZ, tone_s=12) as bob):
            alice_call = await place(via_a, "client:alice", url)
            await wait_status(via_a, alice_call, "in-progress")
            await bob.wait_for("Call established", timeout_s=20)
            await asyncio.sleep(4)  # Bob hears Alice for a while
            path = f"/Accounts/{ADMIN_SID}/Calls/{alice_call}.json"
            muted = await via_b.post(path, data={"Mute": "true"})
            assert muted.status_code == 200, muted.text
            assert muted.json()["muted"] is True  # the owner's answer, after the change
            assert (await via_a.get(path)).json()["muted"] is True
            await bob.wait_for("terminated", timeout_s=30)
            await alice.wait_for("terminated", timeout_s=30)
        bob_heard, alice_heard = read_audio(bob.heard()), read_audio(alice.heard())
        await nothing_live(a, b)
    from_alice = windows(bob_heard, ALICE_HZ)
    assert any(level > HEARD_DBFS for level in from_alice[:8]), from_alice  # heard before the mute
    last_s = int(3 / WINDOW_S)
    assert all(level < ABSENT_DBFS for level in from_alice[-last_s:]), from_alice  # silent after it
    # Muting Alice does not mute Bob for her: she hears him after her mute too.
    from_bob = windows(alice_heard, BOB_HZ)
    assert any(level > HEARD_DBFS for level in from_bob[-(last_s + 6):]), from_bob

"""Conference rooms and their participants through twilio-python: two sipp peers dialled into one room, one
muted, then removed (its call goes on with the rest of its TwiML)."""

from __future__ import annotations

import asyncio

from models import Participant
from tests.support.sipp import Sipp
from tests.twilio.conftest import sdk

ROOM = "<Response><Dial><Conference>blue</Conference></Dial><Hangup/></Response>"


async def test_rooms_and_participants_through_the_sdk(server, application, workdir, twilio):
    url = application.on("/room", ROOM)
    async with Sipp("uas_answer.xml", workdir, calls=2, lifetime_s=40) as peer:
        first = await sdk(twilio.calls.create, to=f"sip:a@{peer.uri_host}", from_="+16175551212", url=url)
        second = await sdk(twilio.calls.create, to=f"sip:b@{peer.uri_host}", from_="+16175551212", url=url)
        async with asyncio.timeout(15):
            while await Participant.all().count() < 2:  # noqa: ASYNC110 - the rows are the API's truth
                await asyncio.sleep(0.1)
        [room] = await sdk(twilio.conferences.list, status="in-progress")
        assert room.friendly_name == "blue" and room.sid.startswith("CF")
        assert (await sdk(twilio.conferences(room.sid).fetch)).status == "in-progress"
        members = await sdk(twilio.conferences(room.sid).participants.list)
        assert {m.call_sid for m in members} == {first.sid, second.sid}

        muted = await sdk(twilio.conferences(room.sid).participants(first.sid).update, muted=True)
        assert muted.muted is True and muted.call_sid == first.sid
        assert (await sdk(twilio.conferences(room.sid).participants(first.sid).fetch)).muted is True

        assert await sdk(twilio.conferences(room.sid).participants(first.sid).delete) is True
        # Out of the room, the call goes on with its document: <Hangup/>.
        await server.wait_status(first.sid, "completed")
        await sdk(twilio.calls(second.sid).update, status="completed")
        await server.wait_status(second.sid, "completed")
        assert await peer.wait(20) == 0, peer.explain()
    await server.idle()
    # The room closes once its last call has left it, as its own step after that call's end.
    async with asyncio.timeout(10):
        while (await sdk(twilio.conferences(room.sid).fetch)).status != "completed":  # noqa: ASYNC110 - no event
            await asyncio.sleep(0.1)

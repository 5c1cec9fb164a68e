"""Migration 0016 on both databases: at most one live room per (account, name), held by the database, and what
two nodes opening the same room at once get from calls/rooms.py (one room: the loser finds the winner's)."""

from __future__ import annotations

import asyncio

import pytest
from tortoise.exceptions import IntegrityError

from calls.rooms import ConferenceRoom, RemoteRoom, Rooms
from models import Conference, ConferenceStatus, clock, sids
from tests.conftest import ADMIN_SID


async def add_room(name: str, status: ConferenceStatus, node: str = "node-a") -> Conference:
    now = clock.now()
    return await Conference.create(sid=sids.new_sid(sids.CONFERENCE), account_sid=ADMIN_SID, friendly_name=name,
                                   status=status.value, date_created=now, date_updated=now, owner_node=node)


async def test_a_second_live_room_of_the_same_name_is_refused(clean_db: str) -> None:
    await add_room("blue", ConferenceStatus.INIT)
    with pytest.raises(IntegrityError):
        await add_room("blue", ConferenceStatus.IN_PROGRESS, node="node-b")
    # Another name, another account's room of that name, and any number of finished rooms are fine.
    await add_room("red", ConferenceStatus.IN_PROGRESS)
    now = clock.now()
    await Conference.create(sid=sids.new_sid(sids.CONFERENCE), account_sid="AC" + "1" * 32, friendly_name="blue",
                            status="init", date_created=now, date_updated=now, owner_node="node-b")
    for _ in range(2):
        await add_room("blue", ConferenceStatus.COMPLETED)
    assert await Conference.filter(account_sid=ADMIN_SID, friendly_name="blue").count() == 3


async def test_two_nodes_opening_one_room_at_once_get_one_room(clean_db: str) -> None:
    a, b = Rooms("node-a"), Rooms("node-b")
    for attempt in range(5):
        name = f"standup-{attempt}"
        found = await asyncio.gather(a.room(ADMIN_SID, name), b.room(ADMIN_SID, name))
        local = [room for room in found if isinstance(room, ConferenceRoom)]
        remote = [room for room in found if isinstance(room, RemoteRoom)]
        assert len(local) == 1 and len(remote) == 1, found
        assert remote[0].conference.sid == local[0].conference.sid
        assert remote[0].node == local[0].conference.owner_node
        assert await Conference.filter(friendly_name=name).count() == 1
        # The node that runs it finds its own room again; once it ended, the next caller opens a new one.
        assert await (a if local[0].rooms is a else b).room(ADMIN_SID, name) is local[0]
        await local[0].end()
        assert isinstance(await b.room(ADMIN_SID, name), ConferenceRoom)

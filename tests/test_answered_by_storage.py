"""Migration 0006 (answered_by_detail) on both databases: the column is there and 0003's call_counts triggers
survived it (an AlterField on `calls` would have rebuilt the table on SQLite and dropped them)."""

from __future__ import annotations

from tortoise import Tortoise

from models import Call, CallStatus, Direction, clock, sids
from models.call_count import total_calls
from tests.conftest import ADMIN_SID


async def trigger_names(database: str) -> set[str]:
    connection = Tortoise.get_connection("default")
    if database == "sqlite":
        rows = await connection.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'calls'")
    else:
        rows = await connection.execute_query_dict(
            "SELECT tgname AS name FROM pg_trigger WHERE tgrelid = 'calls'::regclass AND NOT tgisinternal")
    return {row["name"] for row in rows}


async def test_the_call_count_triggers_survive_the_migration(clean_db: str) -> None:
    assert {"calls_count_insert", "calls_count_delete"} <= await trigger_names(clean_db)
    before = await total_calls(ADMIN_SID, CallStatus.COMPLETED)
    now = clock.now()
    call = Call(sid=sids.new_sid(sids.CALL), account_sid=ADMIN_SID, date_created=now, date_updated=now,
                to_address="alice", from_address="bob", status=CallStatus.COMPLETED.value,
                direction=Direction.OUTBOUND_API.value, answered_by="machine",
                answered_by_detail="machine_end_silence")
    await call.save(force_create=True)
    assert await total_calls(ADMIN_SID, CallStatus.COMPLETED) == before + 1
    stored = await Call.get(sid=call.sid)
    assert (stored.answered_by, stored.answered_by_detail) == ("machine", "machine_end_silence")

"""Migration 0007 (calls.muted) on both databases: the column is there with its default, and 0003's call_counts
triggers survived it (an AlterField on `calls` would have rebuilt the table on SQLite and dropped them)."""

from __future__ import annotations

from models import Call, CallStatus
from models.call_count import total_calls
from tests.conftest import ADMIN_SID, make_call
from tests.test_answered_by_storage import trigger_names


async def test_muted_defaults_to_false_and_the_triggers_survive(clean_db: str) -> None:
    assert {"calls_count_insert", "calls_count_delete"} <= await trigger_names(clean_db)
    before = await total_calls(ADMIN_SID, CallStatus.COMPLETED)
    call = await make_call()
    assert await total_calls(ADMIN_SID, CallStatus.COMPLETED) == before + 1
    assert (await Call.get(sid=call.sid)).muted is False
    await Call.filter(sid=call.sid).update(muted=True)
    assert (await Call.get(sid=call.sid)).muted is True

"""The contract run sets aside the Tortoise context of the suite it interrupts and hands it back as it was.

In a parallel `make test`, a worker goes on with modules of tests/ (SQLite, say) after a contract module
served from the other kind of database (PostgreSQL). Tortoise decides once per init, by the database's
kind, which columns it takes from the driver as they are: PostgreSQL hands back real booleans, SQLite 0 and
1. Handed back without that decision made again, the suite's SQLite reads gave `"muted": 0`, and the API's
response validation answered 500 (3 of 6 four-worker runs, 7 December).
"""

from __future__ import annotations

import asyncio
import contextvars
from pathlib import Path

import pytest
from harness import APP, _foreign_tortoise_context_parked, postgres_reachable, throwaway_database, unreachable_reason

from models import Call, CallStatus, Direction, clock
from models.db import close_database, open_database
from models.sids import CALL, new_sid
from restcomm.seed import DEFAULT_ACCOUNT_SID


async def _a_call() -> str:
    now = clock.now()
    call = await Call.create(sid=new_sid(CALL), account_sid=DEFAULT_ACCOUNT_SID, date_created=now,
                             date_updated=now, to_address="alice", from_address="bob", destination="client:alice",
                             status=CallStatus.COMPLETED.value, direction=Direction.OUTBOUND_API.value)
    return call.sid


async def _read_back(sid: str) -> Call:
    return await Call.get(sid=sid)


def test_the_interrupted_suite_reads_its_sqlite_booleans_as_booleans(tmp_path: Path) -> None:
    if not postgres_reachable():
        pytest.skip(unreachable_reason())
    # This test plays the interrupted suite: whatever tests/ has open in this process is set aside as the contract
    # fixture does, and the suite's steps run in a blank contextvars context (this thread's may name that of tests/).
    suite_context = contextvars.Context()
    with _foreign_tortoise_context_parked(), asyncio.Runner() as suite:
        suite.run(open_database(f"sqlite://{tmp_path / 'suite.db'}"), context=suite_context)
        try:
            sid = suite.run(_a_call(), context=suite_context)
            with throwaway_database("postgres") as url, APP.use_database(url):
                pass  # the contract module: its app opened PostgreSQL, served, and closed it
            call = suite.run(_read_back(sid), context=suite_context)
            assert call.muted is False
            assert call.to_address == "alice"
        finally:
            suite.run(close_database(), context=suite_context)

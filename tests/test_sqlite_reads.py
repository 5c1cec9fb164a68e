"""The SQLite one-row reader (models/sqlite_reads.py) with more than one thread in the process: a thread that
closes its database (the contract harness's app loop) must neither close nor use another thread's reader."""

from __future__ import annotations

import threading

import pytest

from models import Call, sqlite_reads
from tests.conftest import ADMIN_SID, make_call


def _in_another_thread(function) -> None:
    failure: list[BaseException] = []

    def run() -> None:
        try:
            function()
        except BaseException as error:  # handed to the test's thread
            failure.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    if failure:
        raise failure[0]


# SQLite only: PostgreSQL's reads go through asyncpg, there is no reader to share.
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_another_thread_closing_its_readers_leaves_this_threads_reads_working(clean_db):
    call = await make_call()
    assert (await Call.of_account(call.sid, ADMIN_SID)).sid == call.sid  # this thread's reader, opened

    _in_another_thread(sqlite_reads.close_all)  # raised ProgrammingError: the reader was this thread's

    again = await Call.of_account(call.sid, ADMIN_SID)
    assert again is not None and again.sid == call.sid
    assert await Call.of_account(call.sid, "AC" + "0" * 32) is None


async def test_a_call_read_inline_has_its_booleans_as_bools(clean_db):
    # SQLite keeps 0 and 1; the API's schema says boolean, and response validation refused 'muted': 0.
    call = await make_call()
    await Call.filter(sid=call.sid).update(muted=True)
    read = await Call.of_account(call.sid, ADMIN_SID)
    assert read.muted is True
    await Call.filter(sid=call.sid).update(muted=False)
    assert (await Call.of_account(call.sid, ADMIN_SID)).muted is False

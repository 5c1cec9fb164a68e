"""One-row reads on an SQLite file without the trip through aiosqlite's thread.

aiosqlite runs every statement in a thread of its own; for a lookup by primary key the hand-over costs
far more than the query (measured: 1.1-1.3 ms of CPU per API request through it, 0.64 ms without). An
SQLite database in WAL mode lets a second connection read the last committed state while the first one
writes, so these lookups run on the event loop through a read-only connection of their own. Only
bounded, indexed single-row reads belong here: anything that scans keeps going through Tortoise, off the
loop. An in-memory database cannot be shared this way, and other databases have no thread to skip; both
go through Tortoise.

SQLite hands timestamps back as text (`2026-12-02 20:19:44.514000+00:00`), which Tortoise parses with the
iso8601 package, in Python: four of them made 15% of the CPU of an item GET of a call (cProfile). The columns
the caller names are parsed here with `datetime.fromisoformat` (C, a hundred times cheaper); Tortoise then
gets datetimes and only sets their time zone, as it does for PostgreSQL's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Collection
from typing import Any

from tortoise import BaseDBAsyncClient

log = logging.getLogger(__name__)


class _ThreadReaders(threading.local):
    """A thread's read-only connections, by database file.

    An sqlite3 connection may only be used, and closed, by the thread that opened it. A server runs one event
    loop in one thread, but a process may run several (the contract harness serves its app from a thread of
    its own while the tests' loop reads another file): each thread keeps its own, and closing the database
    closes the closing thread's readers only, never those of a loop still reading."""

    def __init__(self) -> None:
        self.by_file: dict[str, sqlite3.Connection] = {}


_readers = _ThreadReaders()


async def fetch_one(connection: BaseDBAsyncClient, sql: str, parameters: list[Any],
                    timestamps: Collection[str] = ()) -> dict[str, Any] | None:
    """The row as a dict, or None; the columns named in `timestamps` as datetimes when SQLite gave text."""
    reader = _reader_for(connection)
    if reader is not None:
        try:
            row = reader.execute(sql, parameters).fetchone()
        except sqlite3.OperationalError:
            # Not in WAL mode and a write holds the lock: never wait on the loop, take the normal way.
            pass
        except sqlite3.Error as exc:
            # Any other failure of this side connection (it is only a shortcut): drop it, so the next read opens
            # a fresh one, and answer through Tortoise rather than with a 500.
            log.warning("sqlite inline read failed, reading through the pool instead: %r", exc)
            _drop_reader(connection)
        else:
            return _with_datetimes(dict(row), timestamps) if row is not None else None
    rows = await connection.execute_query_dict(sql, parameters)
    return _with_datetimes(rows[0], timestamps) if rows else None


def _with_datetimes(row: dict[str, Any], timestamps: Collection[str]) -> dict[str, Any]:
    for column in timestamps:
        value = row.get(column)
        if isinstance(value, str):
            # A form fromisoformat does not read stays text, for Tortoise's own parser.
            with contextlib.suppress(ValueError):
                row[column] = dt.datetime.fromisoformat(value)
    return row


def _reader_for(connection: BaseDBAsyncClient) -> sqlite3.Connection | None:
    if connection.capabilities.dialect != "sqlite":
        return None
    filename = getattr(connection, "filename", ":memory:")
    if filename == ":memory:" or "mode=memory" in filename:
        return None
    reader = _readers.by_file.get(filename)
    if reader is None:
        # Read-only, and a busy timeout of 0: this connection must never make the event loop wait.
        reader = sqlite3.connect(f"file:{filename}?mode=ro", uri=True, timeout=0, isolation_level=None)
        reader.row_factory = sqlite3.Row
        _readers.by_file[filename] = reader
    return reader


def _drop_reader(connection: BaseDBAsyncClient) -> None:
    reader = _readers.by_file.pop(getattr(connection, "filename", ":memory:"), None)
    if reader is not None:
        with contextlib.suppress(sqlite3.Error):
            reader.close()


def close_all() -> None:
    """Closes this thread's readers (see _ThreadReaders)."""
    for reader in _readers.by_file.values():
        reader.close()
    _readers.by_file.clear()

"""Databases for a test session: SQLite in memory, or a fresh PostgreSQL database dropped afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Iterator

from testkit import postgres

_last_error: list[str] = []


def skip_reason() -> str:
    detail = _last_error[-1] if _last_error else "unknown error"
    return f"PostgreSQL at {postgres.ADMIN_URL} is unreachable ({detail}); its half of the suite did not run"


async def create_database() -> str | None:
    """A fresh PostgreSQL database's URL, or None (with the reason kept) when the server is unreachable."""
    try:
        return await postgres.create(postgres.ADMIN_URL, "restcomm_test")
    except postgres.UNREACHABLE as exc:
        _last_error.append(f"{type(exc).__name__}: {exc}")
        return None


async def drop_database(url: str) -> None:
    await postgres.drop(postgres.ADMIN_URL, url)


@contextlib.asynccontextmanager
async def session_database(kind: str) -> AsyncIterator[str | None]:
    if kind == "sqlite":
        # A file, as the server's default is: in-memory SQLite would skip the inline-read path.
        with tempfile.TemporaryDirectory(prefix="restcomm-test-") as directory:
            yield f"sqlite://{directory}/test.sqlite3"
        return
    url = await create_database()
    try:
        yield url
    finally:
        if url is not None:
            await drop_database(url)


@contextlib.contextmanager
def server_database(kind: str, directory: str) -> Iterator[str | None]:
    """A database for a server process: an SQLite file in `directory`, or a fresh PostgreSQL database."""
    if kind == "sqlite":
        yield f"sqlite://{directory}/restcomm.sqlite3"
        return
    url = asyncio.run(create_database())
    try:
        yield url
    finally:
        if url is not None:
            asyncio.run(drop_database(url))

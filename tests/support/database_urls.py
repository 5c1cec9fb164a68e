"""Databases for a test session: SQLite in memory, or a fresh PostgreSQL database dropped afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg

# The server the project's tests use; override to point the suite at another one.
ADMIN_URL = os.environ.get("RESTCOMM_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")

_last_error: list[str] = []


def skip_reason() -> str:
    detail = _last_error[-1] if _last_error else "unknown error"
    return f"PostgreSQL at {ADMIN_URL} is unreachable ({detail}); its half of the suite did not run"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def create_database() -> str | None:
    """A fresh PostgreSQL database's URL, or None (with the reason kept) when the server is unreachable."""
    name = f"restcomm_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        _last_error.append(f"{type(exc).__name__}: {exc}")
        return None
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return with_database(ADMIN_URL, name)


async def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await admin.close()


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

"""Scratch PostgreSQL databases: created beside an existing one for a test session or a benchmark run, dropped after."""

from __future__ import annotations

import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import asyncpg

# The server the project's tests and benchmarks use; RESTCOMM_TEST_POSTGRES_URL points them at another one.
ADMIN_URL = os.environ.get("RESTCOMM_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
# What create() raises when the server is unreachable.
UNREACHABLE = (OSError, asyncpg.PostgresError, TimeoutError)


def with_database(url: str, name: str) -> str:
    """`url` naming database `name` instead."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def asyncpg_dsn(database_url: str) -> str:
    """Tortoise spells the scheme `postgres://`; asyncpg accepts it too, but say what we mean."""
    return "postgresql://" + database_url.split("://", 1)[1]


async def create(admin_url: str, prefix: str) -> str:
    """A fresh database beside `admin_url`'s (`<prefix>_<pid>_<random>`), and its URL. Raises OSError,
    asyncpg.PostgresError or TimeoutError when the server is unreachable."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(asyncpg_dsn(admin_url), timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return with_database(admin_url, name)


async def drop(admin_url: str, url: str) -> None:
    """Drops the database of `url`, ending its sessions first (a server killed mid-query may leave some)."""
    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(asyncpg_dsn(admin_url), timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()

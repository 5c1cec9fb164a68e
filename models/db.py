"""Opening, migrating and closing the database."""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.connection import get_connection
from tortoise.migrations.executor import MigrationExecutor

from models import sqlite_reads

log = logging.getLogger(__name__)

MODEL_MODULES = [
    "models.account",
    "models.call",
    "models.call_count",
    "models.recording",
    "models.notification",
    "models.client",
    "models.phone_number",
    "models.conference",
    "models.node",
    "models.call_event",
    "models.twiml_document",
    "models.sip_message",
]


class _NoResetConnection(asyncpg.Connection):
    """A pooled connection returned to the pool as it is.

    asyncpg resets every connection it takes back (advisory locks, cursors, LISTEN, settings): one more
    round trip per query. This server never leaves such session state behind, so the reset is pure cost.
    """

    def get_reset_query(self) -> str:
        return ""


def _connection(database_url: str) -> str | dict:
    config = expand_db_url(database_url)
    if config["engine"] != "tortoise.backends.asyncpg":
        return database_url
    config["credentials"]["connection_class"] = _NoResetConnection
    return config


def tortoise_config(database_url: str) -> dict:
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "migrations": "models.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# Referenced by `tortoise -c models.db.TORTOISE_ORM makemigrations` when a model changes.
TORTOISE_ORM = tortoise_config("sqlite://:memory:")


SQLITE_HEADER = b"SQLite format 3\x00"


class NotADatabase(RuntimeError):
    """RESTCOMM_DATABASE_URL names a file that exists but is not an SQLite database."""


def _check_sqlite_file(database_url: str) -> None:
    # Tortoise's migration never returns on such a file (aiosqlite's error does not reach the awaiting
    # task), so the server would hang at start-up instead of saying what is wrong.
    config = expand_db_url(database_url)
    if config["engine"] != "tortoise.backends.sqlite":
        return
    path = Path(config["credentials"]["file_path"])
    if str(path) == ":memory:" or not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb") as file:
        if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise NotADatabase(f"{path} is not an SQLite database (check RESTCOMM_DATABASE_URL)")


async def open_database(database_url: str, *, apply_migrations: bool = True) -> None:
    """Connect, and bring the schema up to date through the migrations in `models/migrations`."""
    _check_sqlite_file(database_url)
    config = tortoise_config(database_url)
    # The global fallback makes the connection visible to request tasks, which do not inherit the
    # context of the task that ran the ASGI lifespan.
    await Tortoise.init(config=config, _enable_global_fallback=True)
    if apply_migrations:
        try:
            # On the connection just opened: an in-memory SQLite database exists only on it.
            await MigrationExecutor(get_connection("default"), config["apps"]).migrate()
        except BaseException:
            # aiosqlite's worker thread would keep the process alive after the failed start.
            await close_database()
            raise


async def ping() -> None:
    """One round trip to the database (readiness); raises whatever the driver raises when it is gone."""
    await get_connection("default").execute_query("SELECT 1")


async def close_database() -> None:
    sqlite_reads.close_all()
    await Tortoise.close_connections()
    # Tortoise caches each model's INSERT/DELETE SQL by connection name and keeps it after closing; a
    # process that then opens another kind of database (the tests do) would send SQLite's SQL to PostgreSQL.
    EXECUTOR_CACHE.clear()

"""Fixtures of the cluster tests: a PostgreSQL database of their own (the cluster's shared state)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from testkit.application import Application, running_application
from tests.support import database_urls


@pytest_asyncio.fixture
async def cluster_db() -> AsyncIterator[str]:
    """A fresh PostgreSQL database the nodes share (several processes: SQLite is one-process only)."""
    url = await database_urls.create_database()
    if url is None:
        pytest.skip(database_urls.skip_reason())
    try:
        yield url
    finally:
        await database_urls.drop_database(url)


@pytest_asyncio.fixture
async def application() -> AsyncIterator[Application]:
    async with running_application() as app:
        yield app

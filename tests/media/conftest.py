"""Fixtures for the media tests: nothing here needs a database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

from sip.media.endpoint import RtpEndpoint
from sip.media.ports import PortPool
from tests.support.workers import port_slice

# Below Linux's ephemeral range (32768-60999), so the kernel's own picks rarely land in it; the pool skips
# whatever is taken anyway. Each worker of a parallel run draws from its own share (tests/support/workers.py).
TEST_PORTS = port_slice(31000, 31998)


@pytest.fixture
def pool() -> PortPool:
    return PortPool(*TEST_PORTS)


@pytest_asyncio.fixture
async def endpoints(pool: PortPool) -> AsyncIterator[Callable[[], Awaitable[RtpEndpoint]]]:
    """Opens endpoints on 127.0.0.1 and closes them all after the test."""
    opened: list[RtpEndpoint] = []

    async def open_endpoint() -> RtpEndpoint:
        endpoint = await RtpEndpoint.open(pool, "127.0.0.1")
        opened.append(endpoint)
        return endpoint

    yield open_endpoint
    for endpoint in opened:
        endpoint.close()

"""Fixtures of the cluster tests: a PostgreSQL database of their own (the cluster's shared state), the nodes
sharing it, and the application their calls fetch documents from."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

from testkit.application import Application, running_application
from testkit.cluster import NodeProcess, start_node
from tests.support import database_urls
from tests.support.workers import port_slice

# The nodes' RTP ports: each pytest-xdist worker has its own slice (tests/support/workers.py), shared by the
# nodes it starts, a part each; the tests of one worker run one after the other. Nodes bind them on their
# own address (127.0.0.2, ...), so the engine tests' share of the same numbers on 127.0.0.1 is another port.
RTP_PORTS = (31000, 31999)
MOST_NODES = 4  # a test starts at most this many nodes (127.0.0.2 to 127.0.0.5)

StartNodes = Callable[..., Awaitable[list[NodeProcess]]]


def rtp_ports(index: int) -> str:
    """The RTP range of this worker's node `index` (0 for 127.0.0.2), as RESTCOMM_RTP_PORTS spells it."""
    first, last = port_slice(*RTP_PORTS)
    size = ((last - first + 1) // MOST_NODES) & ~1  # even, so every part starts on an even port
    return f"{first + index * size}-{first + (index + 1) * size - 1}"


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
async def start_nodes(cluster_db, tmp_path) -> AsyncIterator[StartNodes]:
    """`await start_nodes(count, extra_env=...)` starts `count` more nodes on cluster_db (127.0.0.2, 127.0.0.3,
    ... in order); every node started is stopped when the test ends, the last first."""
    started: list[NodeProcess] = []

    async def start(count: int = 1, *, extra_env: dict[str, str] | None = None) -> list[NodeProcess]:
        nodes = []
        for _ in range(count):
            index = len(started)
            assert index < MOST_NODES, f"a cluster test starts at most {MOST_NODES} nodes"
            node = await start_node(cluster_db, f"127.0.0.{index + 2}", tmp_path, rtp_ports=rtp_ports(index),
                                    extra_env=extra_env)
            started.append(node)
            nodes.append(node)
        return nodes

    try:
        yield start
    finally:
        for node in reversed(started):
            node.stop()


@pytest_asyncio.fixture
async def two_nodes(start_nodes) -> tuple[NodeProcess, NodeProcess]:
    """Nodes A (127.0.0.2) and B (127.0.0.3) on one database."""
    a, b = await start_nodes(2)
    return a, b


@pytest_asyncio.fixture
async def application() -> AsyncIterator[Application]:
    async with running_application() as app:
        yield app

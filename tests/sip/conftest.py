"""Fixtures for the SIP layer's tests: one SipStack per test module on a free UDP port, with the engine's
stand-in as its inbound handler, and a scratch directory for the peers' files. Nothing here needs a database.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from sip.stack import SipStack
from testkit.ports import free_port
from testkit.sip_driver import Handler

# A short Timer B, so an INVITE nobody answers fails within seconds; every peer in these tests answers at once.
TIMER_B_S = 3.0


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sip")


@pytest.fixture(scope="module")
def handler() -> Handler:
    return Handler()


@pytest_asyncio.fixture(scope="module")
async def stack(handler: Handler) -> AsyncIterator[SipStack]:
    sip_stack = SipStack(host="127.0.0.1", port=free_port(socket.SOCK_DGRAM), timer_b=TIMER_B_S)
    await sip_stack.start(handler)
    try:
        yield sip_stack
    finally:
        await sip_stack.stop()


@pytest.fixture(autouse=True)
def _fresh_handler(handler: Handler) -> None:
    """Each test starts with no queued calls and no ringing policy; registrations persist within a module."""
    handler.reset()

"""Twilio's own SDKs as clients: the whole server in the test process (tests/calls' fixtures), twilio-python
pointed at it by its base URL, run in a worker thread (it is a blocking client; the server shares the loop)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from twilio.rest import Client

from tests.calls.conftest import application, server, voice, workdir  # noqa: F401 - the fixtures, reused
from tests.conftest import ADMIN_SID, ADMIN_TOKEN

T = TypeVar("T")


@pytest.fixture
def twilio(server) -> Client:  # noqa: F811 - the fixture imported above
    """twilio-python as a Twilio user configures it for this server: one setting, the base URL."""
    client = Client(ADMIN_SID, ADMIN_TOKEN)
    client.api.base_url = server.base_url
    return client


async def sdk(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking SDK call without blocking the server's event loop."""
    return await asyncio.to_thread(functools.partial(call, *args, **kwargs))

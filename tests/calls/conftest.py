"""A whole server in the test process: HTTP API on a free port, SIP on a free UDP port, the test database.

One server per test module (sippy allows one SIP stack per process); each test starts from empty tables,
the default account, and a stand-in customer application that serves RCML and receives callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
import uvicorn

from calls.engine import CallEngine
from calls.types import OutboundProxy
from models import Call
from rcml.fetch_policy import DEFAULT_DENY
from restcomm.app import create_app
from restcomm.settings import Settings
from testkit.application import Application, running_application
from testkit.ports import free_port
from tests.conftest import ADMIN_SID, ADMIN_TOKEN, BASE, empty_tables
from tests.support.workers import port_slice

# An "internal service" address the test servers' fetch policy refuses (tests/calls/test_hostile_tenant.py).
INTERNAL_HOST = "127.0.0.9"
# Callbacks retried quickly, so "the receiver failed twice" takes a fraction of a second.
RETRY_DELAYS = (0.1, 0.2, 0.4)


@dataclass
class Voice:
    """The running server as a test drives it."""

    base_url: str
    sip: tuple[str, int]
    http: httpx.AsyncClient
    app: object

    @property
    def engine(self) -> CallEngine:
        return self.app.context.engine

    @contextlib.contextmanager
    def outbound_proxy(self, proxy: OutboundProxy) -> Iterator[None]:
        """Calls to numbers go to `proxy` while this lasts (RESTCOMM_OUTBOUND_PROXY, for one test)."""
        routes = self.engine.services.routes
        routes.outbound_proxy = proxy
        try:
            yield
        finally:
            routes.outbound_proxy = None

    async def post(self, path: str, data: dict) -> httpx.Response:
        return await self.http.post(BASE + path, data=data)

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(BASE + path)

    async def delete(self, path: str) -> httpx.Response:
        return await self.http.delete(BASE + path)

    async def place(self, to: str, url: str, **extra: str) -> dict:
        response = await self.post(f"/Accounts/{ADMIN_SID}/Calls.json", {"From": "+16175551212", "To": to,
                                                                          "Url": url, **extra})
        assert response.status_code == 200, response.text
        return response.json()

    async def wait_status(self, sid: str, *statuses: str, within: float = 15.0) -> Call:
        """Polls the call row until it is in one of `statuses` (the database is what the API shows)."""
        async with asyncio.timeout(within):
            while True:
                call = await Call.get(sid=sid)
                if call.status in statuses:
                    return call
                await asyncio.sleep(0.05)

    async def idle(self, within: float = 10.0) -> None:
        """Until no call is live on the server and every callback went out."""
        try:
            async with asyncio.timeout(within):
                while self.engine.owners:  # noqa: ASYNC110 - owners leave the registry as they finish; no event
                    await asyncio.sleep(0.05)
        except TimeoutError:
            # Which calls, and where their owners wait: what the next look at a teardown error starts from.
            raise AssertionError(f"calls still live after {within} s:\n" + "\n".join(
                _owner_state(owner) for owner in self.engine.owners.values())) from None
        await self.engine.callbacks.drain(within)


def _owner_state(owner: object) -> str:
    call = owner.call
    where = io.StringIO()
    owner.task.print_stack(limit=6, file=where)
    return (f"{call.sid} {call.direction} to {call.to_address}: {call.status}, finished={owner.finished}, "
            f"{owner.inbox.qsize()} message(s) waiting; owner task:\n{where.getvalue()}")


@pytest_asyncio.fixture(scope="module")
async def voice(database: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Voice]:
    http_port, sip_port = free_port(), free_port(socket.SOCK_DGRAM)
    settings = Settings(http_port=http_port, sip_port=sip_port, validate_responses=True,
                        rtp_ports="{}-{}".format(*port_slice(30000, 30999)), node_id=f"test-{sip_port}",
                        recordings_dir=str(tmp_path_factory.mktemp("recordings")),
                        fetch_deny=f"{DEFAULT_DENY},{INTERNAL_HOST}/32")
    app = create_app(settings, manage_database=False)
    app.context.engine.callbacks.retry_delays = RETRY_DELAYS
    # The test's client (below) drops a connection idle for 5 s (httpx's keepalive_expiry), and uvicorn closed
    # one idle for 5 s too (its timeout_keep_alive): a request after a pause of about 5 s could go out on a
    # connection the server was closing, and got httpx.ReadError (seen under load). The server now waits
    # longer than the client, so the client is always the one that lets an idle connection go.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=http_port, log_level="warning",
                                           timeout_keep_alive=60))
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    async with httpx.AsyncClient(auth=(ADMIN_SID, ADMIN_TOKEN), base_url=f"http://127.0.0.1:{http_port}",
                                 timeout=20) as http:
        try:
            yield Voice(f"http://127.0.0.1:{http_port}", ("127.0.0.1", sip_port), http, app)
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 20)


@pytest_asyncio.fixture
async def server(voice: Voice) -> AsyncIterator[Voice]:
    """The module's server with empty tables and no call left over from the previous test."""
    await voice.idle()
    # The server's own lease is not a test's data. Deleted, it made the next renewal take the node for one that
    # had been declared dead, in every test: "the lease of node ... had run out" logged, and what a node does
    # then run (calls/engine.py `_lease_lost`), hiding a real lapse among the false ones.
    await empty_tables(keep_node=voice.engine.node)
    voice.app.context.accounts.clear()
    voice.app.context.guesses.clear()
    if voice.engine.registrar is not None:
        voice.engine.registrar.guesses.clear()  # one test's wrong passwords are not the next one's
    yield voice
    await voice.idle()


@pytest_asyncio.fixture
async def application() -> AsyncIterator[Application]:
    async with running_application() as app:
        yield app


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@contextlib.contextmanager
def rtp_timeout(server: Voice, seconds: float) -> Iterator[None]:
    """The module server's RESTCOMM_RTP_TIMEOUT_SECONDS is `seconds` within the block (it is one per module)."""
    limits = server.engine.services.limits
    default, limits.rtp_timeout_seconds = limits.rtp_timeout_seconds, seconds
    try:
        yield
    finally:
        limits.rtp_timeout_seconds = default

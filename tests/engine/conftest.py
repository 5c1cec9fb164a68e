"""The call engine with everything around it faked but the database and the RTP endpoints.

A test drives a call the way the SIP stack and the API would: it delivers leg events (`Ringing`, `Answered`,
`Failed`, `Ended`) to the sink the engine gave the fake stack with each INVITE, and calls `create_call` and
`modify_call` as the handlers do. The customer's application is a dict of URL -> RCML (`FakeFetcher`), and
the status callbacks are recorded instead of sent (`RecordedCallbacks`). No SIP peer, no HTTP: every test
takes a fraction of a second. The database is the suite's (SQLite and PostgreSQL, tests/conftest.py), so
what a test reads back is what the API would show.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from calls import call_state
from calls.callbacks import Callback
from calls.engine import CallEngine
from calls.recordings import RecordingStore
from calls.types import CallRequest
from models import Call
from rcml.audio import AudioLibrary
from rcml.documents import Fetched, FetchFailed
from rcml.http import HttpClient
from rcml.parser import parse
from sip import sdp
from sip.destination import parse_destination
from sip.events import Answered, Ended, LegEvent
from sip.legs import OutboundInvite
from sip.media.ports import PortPool
from sip.media_factory import MediaFactory
from tests.conftest import ADMIN_SID
from tests.support.workers import port_slice

# Within this long every effect a test waits for has happened (they take milliseconds); a test that waits
# longer has found a bug, and fails rather than hangs.
WITHIN_S = 2.0
APP = "http://app.invalid"
# Real RTP endpoints (a Dial bridges them), on ports another process may hold: the pool skips those.
RTP_PORTS = port_slice(31000, 31999)  # this worker's share in a parallel run (tests/support/workers.py)
# What a far end answers our offer with (a 200 OK must carry one: calls/outbound.py fails a call without). Its
# RTP port is a discard address: nothing is sent there unless a test plays audio, and none does.
ANSWER_SDP = sdp.offer("127.0.0.1", 9)


def answered() -> Answered:
    """The far end's 200 OK, with its SDP answer."""
    return Answered(ANSWER_SDP)


@dataclass
class FakeLeg:
    """An INVITE the engine sent. `hangup` is CANCEL or BYE: recorded, and its `Ended` delivered, as the
    stack does once the far end confirms it."""

    invite: OutboundInvite
    sink: Callable[[LegEvent], None]
    hangups: int = 0

    @property
    def call_sid(self) -> str:
        return dict(self.invite.headers)["X-RestComm-CallSid"]

    def deliver(self, event: LegEvent) -> None:
        self.sink(event)

    async def hangup(self) -> None:
        self.hangups += 1
        asyncio.get_running_loop().call_soon(self.sink, Ended(by_remote=False))


class FakeStack:
    """What the engine uses of sip.stack.SipStack: `invite` and `address`."""

    def __init__(self) -> None:
        self.legs: list[FakeLeg] = []
        self.address = ("127.0.0.1", 5060)

    async def invite(self, invite: OutboundInvite, on_event: Callable[[LegEvent], None]) -> FakeLeg:
        leg = FakeLeg(invite, on_event)
        self.legs.append(leg)
        return leg

    async def leg_to(self, uri: str) -> FakeLeg:
        """The INVITE sent to `uri` (waits for it)."""
        return await eventually(lambda: next((leg for leg in self.legs if leg.invite.request_uri == uri), None))


@dataclass
class FakeFetcher:
    """The customer's application: RCML by URL; every fetch recorded with its parameters. A URL in `held`
    is answered only once its event is set (to hold a session in the middle of a fetch)."""

    documents: dict[str, str] = field(default_factory=dict)
    fetches: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    held: dict[str, asyncio.Event] = field(default_factory=dict)

    async def fetch(self, url: str, method: str, parameters: dict[str, str]) -> Fetched:
        self.fetches.append((url, dict(parameters)))
        if url in self.held:
            await self.held[url].wait()
        if url not in self.documents:
            raise FetchFailed(11200, f"{url} answered HTTP 404", url, method, status=404)
        return Fetched(url, method, parse(self.documents[url].encode()))

    def urls(self) -> list[str]:
        return [url for url, _ in self.fetches]


class RecordedCallbacks:
    """What the engine uses of calls.callbacks.CallbackSender, keeping each callback instead of sending it."""

    def __init__(self) -> None:
        self.sent: list[Callback] = []

    def send(self, callback: Callback) -> None:
        self.sent.append(callback)

    def statuses(self, call_sid: str) -> list[str]:
        return [c.parameters["CallStatus"] for c in self.sent if c.call_sid == call_sid]

    def final(self, call_sid: str) -> list[Callback]:
        """The call's `completed`-event callbacks (the one that carries CallDuration)."""
        return [c for c in self.sent if c.call_sid == call_sid and "CallDuration" in c.parameters]

    async def drain(self, within: float | None = None) -> None:
        pass

    async def close(self, within: float = 5.0) -> None:
        pass


@dataclass
class Harness:
    engine: CallEngine
    stack: FakeStack
    fetcher: FakeFetcher
    callbacks: RecordedCallbacks
    _numbers: Any = field(default_factory=lambda: itertools.count(1))

    async def place(self, to: str = "", url: str = f"{APP}/start", **request: Any) -> tuple[Call, FakeLeg]:
        """A call placed through the API (as handlers/calls.py does), and the INVITE it sent."""
        to = to or f"sip:callee{next(self._numbers)}@127.0.0.1:5090"
        request.setdefault("status_callback", f"{APP}/status")
        request.setdefault("status_callback_events", ("initiated", "ringing", "answered", "completed"))
        call = await self.engine.create_call(ADMIN_SID, CallRequest(from_="+15550001111", to=parse_destination(to),
                                                                    url=url, **request))
        return call, await self.stack.leg_to(to)

    def owner(self, sid: str):
        return self.engine.owners.get(sid)

    async def ended(self, sid: str) -> Call:
        """The call's row once its owner has finished (its final status written)."""
        owner = self.owner(sid)
        if owner is not None:
            async with asyncio.timeout(WITHIN_S):
                await owner.wait_finished()
                await owner.task
        return await Call.get(sid=sid)


async def eventually(probe: Callable[[], Any | Awaitable[Any]], within: float = WITHIN_S) -> Any:
    """The first truthy value `probe` returns, polling; fails the test after `within` seconds."""
    async with asyncio.timeout(within):
        while True:
            value = probe()
            if asyncio.iscoroutine(value):
                value = await value
            if value:
                return value
            await asyncio.sleep(0.005)


@pytest.fixture
def updates(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The fields of every UPDATE an owner sends, in order, each recorded once the database has it (a test
    that sees an update here can read its row: on PostgreSQL the write takes a while to land)."""
    sent: list[dict[str, Any]] = []
    real = call_state.update_call

    async def update_call(sid: str, fields: dict[str, Any], *, live_only: bool) -> int:
        written = await real(sid, fields, live_only=live_only)
        sent.append(dict(fields))
        return written

    monkeypatch.setattr(call_state, "update_call", update_call)
    return sent


@pytest_asyncio.fixture
async def harness(clean_db: str, tmp_path: Path) -> AsyncIterator[Harness]:
    stack, fetcher, callbacks = FakeStack(), FakeFetcher(), RecordedCallbacks()
    http = HttpClient()  # never used: no test plays audio; AudioLibrary wants one
    engine = CallEngine(node="engine-test", base_url="http://127.0.0.1:1", fetcher=fetcher, callbacks=callbacks,
                        audio=AudioLibrary(http, "http://127.0.0.1:1"), recordings=RecordingStore(tmp_path),
                        stack=stack, media=MediaFactory(PortPool(*RTP_PORTS), "127.0.0.1"))
    harness = Harness(engine, stack, fetcher, callbacks)
    try:
        yield harness
    finally:
        await engine.shutdown(within=WITHIN_S)
        await http.aclose()

"""What the SIP tests (and bench.sip_stack) drive the stack with: an event log per leg, and the engine's
stand-in handler (an in-memory registrar plus a queue of inbound calls)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sip.events import LegEvent, is_terminal
from sip.legs import InboundLeg, OutboundInvite, OutboundLeg
from sip.registration import RegisterRequest, RegisterResponse
from sip.stack import SipStack

REALM = "restcomm.test"


def sdp_offer(port: int = 40000) -> str:
    return (f"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
            f"a=fmtp:101 0-15\r\n")


class EventLog:
    """A leg's events as delivered, with the thread each was delivered on."""

    def __init__(self) -> None:
        self.events: list[LegEvent] = []
        self.threads: set[int] = set()
        self._changed = asyncio.Event()

    def __call__(self, event: LegEvent) -> None:
        self.threads.add(threading.get_ident())
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, kind: type, timeout_s: float = 10) -> Any:
        """The first event of `kind`; fails as soon as the leg ends without one."""
        async with asyncio.timeout(timeout_s):
            while True:
                for event in self.events:
                    if isinstance(event, kind):
                        return event
                if self.events and is_terminal(self.events[-1]):
                    raise AssertionError(f"the leg ended without {kind.__name__}: {self.events}")
                self._changed.clear()
                await self._changed.wait()

    async def terminal(self, timeout_s: float = 10) -> LegEvent:
        async with asyncio.timeout(timeout_s):
            while not (self.events and is_terminal(self.events[-1])):
                self._changed.clear()
                await self._changed.wait()
        return self.events[-1]

    def kinds(self) -> list[str]:
        return [type(event).__name__ for event in self.events]


@dataclass
class Incoming:
    leg: InboundLeg
    log: EventLog


@dataclass
class Handler:
    """The engine's stand-in: a registrar for `users` keeping bindings in memory, and a queue of inbound calls."""

    users: dict[str, str] = field(default_factory=lambda: {"alice": "s3cret"})
    bindings: dict[str, dict[str, int]] = field(default_factory=dict)
    registers: list[tuple[RegisterRequest, RegisterResponse]] = field(default_factory=list)
    calls: asyncio.Queue[Incoming] = field(default_factory=asyncio.Queue)
    # Run on every new inbound leg before it is queued (to ring it, say).
    on_new_call: Callable[[InboundLeg], Awaitable[None]] | None = None
    # Leave setting the event sink to the test (to check that events held meanwhile are delivered).
    sink_later: bool = False
    _registered: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_invite(self, leg: InboundLeg) -> None:
        log = EventLog()
        if not self.sink_later:
            leg.set_event_sink(log)
        if self.on_new_call is not None:
            await self.on_new_call(leg)
        self.calls.put_nowait(Incoming(leg, log))

    async def on_register(self, request: RegisterRequest) -> RegisterResponse:
        response = self._decide(request)
        self.registers.append((request, response))
        self._registered.set()
        return response

    def _decide(self, request: RegisterRequest) -> RegisterResponse:
        password = self.users.get(request.to_user)
        if password is None:
            return RegisterResponse(404, "Not Found")
        if not request.verify_digest(password, REALM):
            return RegisterResponse.unauthorized(REALM)
        default = request.expires if request.expires is not None else 3600
        mine = self.bindings.setdefault(request.to_user, {})
        for uri, expires in request.contacts:
            granted = default if expires is None else expires
            if granted == 0:
                mine.pop(uri, None)
            else:
                mine[uri] = granted
        return RegisterResponse.ok(tuple(mine.items()))

    async def next_call(self, timeout_s: float = 10) -> Incoming:
        return await asyncio.wait_for(self.calls.get(), timeout_s)

    async def until_registers(self, done: Callable[[], bool], timeout_s: float = 10) -> None:
        """Waits, REGISTER by REGISTER, until `done()` holds."""
        async with asyncio.timeout(timeout_s):
            while not done():
                self._registered.clear()
                await self._registered.wait()

    async def binding(self, user: str, timeout_s: float = 10) -> str:
        """The Contact URI `user` registered, once it has."""
        await self.until_registers(lambda: bool(self.bindings.get(user)), timeout_s)
        return next(iter(self.bindings[user]))

    def reset(self) -> None:
        self.on_new_call = None
        self.sink_later = False
        while not self.calls.empty():
            self.calls.get_nowait()


async def place(stack: SipStack, request_uri: str, **overrides: Any) -> tuple[OutboundLeg, EventLog]:
    """Places a call with plain defaults for everything but the target; returns the leg and its event log."""
    log = EventLog()
    fields: dict[str, Any] = {"to_uri": request_uri, "from_user": "+16175551212", "from_display": None,
                              "sdp_offer": sdp_offer()}
    fields.update(overrides)
    leg = await stack.invite(OutboundInvite(request_uri=request_uri, **fields), log)
    return leg, log

"""Call legs as the asyncio side holds them: what was asked or offered, the leg's events, its actions.

Leg objects live on the loop thread. Their actions cross to the SIP thread through the stack; their events
come back through it, in order, on the loop thread.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from sip.events import LegEvent, is_terminal
from sip.headers import HeaderDict, check_extra_header

logger = logging.getLogger("sip")

EventSink = Callable[[LegEvent], None]

# Leg keys are drawn by the loop thread (outbound) and the SIP thread (inbound) from this one counter;
# next() on an itertools.count is atomic under the GIL, so the two never collide.
_leg_keys = itertools.count(1)


def next_leg_key() -> int:
    return next(_leg_keys)


@dataclass(frozen=True)
class OutboundInvite:
    request_uri: str
    to_uri: str
    from_user: str
    from_display: str | None
    sdp_offer: str
    headers: tuple[tuple[str, str], ...] = ()
    username: str | None = None
    password: str | None = None
    next_hop: tuple[str, int] | None = None
    # Route header values (`<sip:proxy;lr>`), in order: the proxies a registration's Path named.
    routes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name, value in self.headers:
            check_extra_header(name, value)
        if not self.sdp_offer.strip():
            raise ValueError("an INVITE needs an SDP offer")
        for text in (self.from_user, self.from_display or "", self.request_uri, self.to_uri, *self.routes):
            if any(ch in text for ch in "\r\n\0"):
                raise ValueError(f"{text!r} contains a line break or NUL")


@dataclass(frozen=True)
class InboundInvite:
    """What a new INVITE said, read in the SIP thread and handed over as plain values."""

    call_id: str
    request_user: str
    from_user: str
    from_display: str | None
    to_user: str
    headers: HeaderDict
    sdp_offer: str | None
    source: tuple[str, int]


class LegControl(Protocol):
    """How a leg reaches its dialog in the SIP thread (implemented by the stack)."""

    def act(self, key: int, action: str, *args: Any) -> Coroutine[Any, Any, None]: ...


class _Events:
    """A leg's events in order: held until a sink is set, closed after the terminal one (or on stop)."""

    def __init__(self, sink: EventSink | None) -> None:
        self._sink = sink
        self._queue: deque[LegEvent] = deque()
        self.finished = False
        self._closed = False

    def push(self, event: LegEvent) -> None:
        if self.finished:
            return
        self.finished = is_terminal(event)
        self._queue.append(event)
        self._drain()

    def set_sink(self, sink: EventSink) -> None:
        self._sink = sink
        # Held events go out from the loop, not from inside this call, and still before any later event:
        # a later push drains the whole queue in order.
        asyncio.get_running_loop().call_soon(self._drain)

    def close(self) -> None:
        """After stop nothing is delivered any more, held events included."""
        self._closed = True
        self._queue.clear()

    def _drain(self) -> None:
        while self._sink is not None and self._queue and not self._closed:
            event = self._queue.popleft()
            try:
                self._sink(event)
            except Exception:
                logger.exception("a leg event handler failed on %r", event)


class _Leg:
    def __init__(self, key: int, control: LegControl, sink: EventSink | None) -> None:
        self._key = key
        self._control = control
        self._events = _Events(sink)

    @property
    def ended(self) -> bool:
        """True once the leg's terminal event has been handed to it."""
        return self._events.finished

    def _deliver(self, event: LegEvent) -> None:
        """The stack hands over an event from the SIP thread (on the loop)."""
        self._events.push(event)

    def _silence(self) -> None:
        """The stack has stopped: nothing is delivered any more."""
        self._events.close()

    async def hangup(self) -> None:
        if not self._events.finished:
            await self._control.act(self._key, "hangup")


class OutboundLeg(_Leg):
    """A call we placed. hangup(): CANCEL while early, BYE once answered, nothing once ended."""

    def __init__(self, key: int, control: LegControl, call_id: str, sink: EventSink) -> None:
        super().__init__(key, control, sink)
        self.call_id = call_id

    def __repr__(self) -> str:
        return f"<OutboundLeg {self.call_id}>"


class InboundLeg(_Leg):
    """A call we received. Actions on a leg that has ended (the caller cancelled, say) do nothing.

    hangup(): BYE once answered; while unanswered, a 487 Request Terminated (neither busy nor declined). Hung up
    after our 200 and before the caller's ACK, the leg ends at once and its BYE follows the ACK (RFC 3261 section
    15), or Timer H when none comes.
    """

    def __init__(self, key: int, control: LegControl, invite: InboundInvite) -> None:
        super().__init__(key, control, None)
        self.call_id = invite.call_id
        self.request_user = invite.request_user
        self.from_user = invite.from_user
        self.from_display = invite.from_display
        self.to_user = invite.to_user
        self.headers = invite.headers
        self.sdp_offer = invite.sdp_offer
        self.source = invite.source

    def set_event_sink(self, on_event: EventSink) -> None:
        """Events that arrived before are delivered first, in order, soon after this call (on the loop)."""
        self._events.set_sink(on_event)

    async def ring(self, code: int = 180) -> None:
        if not 180 <= code <= 189:
            raise ValueError(f"{code} is not a ringing code (180-189)")
        if not self._events.finished:
            await self._control.act(self._key, "ring", code)

    async def answer(self, sdp_answer: str) -> None:
        if not sdp_answer.strip():
            raise ValueError("an answer needs an SDP")
        if not self._events.finished:
            await self._control.act(self._key, "answer", sdp_answer)

    async def reject(self, code: int, reason: str, *, retry_after: int | None = None) -> None:
        """A final failure response; `retry_after` (seconds) adds Retry-After, as a 503 for overload should."""
        if not 300 <= code <= 699:
            raise ValueError(f"{code} is not a final failure code (300-699)")
        if any(ch in reason for ch in "\r\n"):
            raise ValueError("a reason phrase is one line")
        if not self._events.finished:
            await self._control.act(self._key, "reject", code, reason, retry_after)

    def __repr__(self) -> str:
        return f"<InboundLeg {self.call_id} from {self.from_user} to {self.request_user}>"

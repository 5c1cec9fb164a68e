"""The SIP stack as asyncio sees it: start and stop it, place calls, and receive calls and registrations.

Everything here runs on the asyncio loop. The sippy side (`sip.sipside`) runs in the SIP thread and is reached
only through the reactor (`sip.reactor`); no sippy object or type ever comes back. Importing this module
does not import sippy.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
from collections.abc import Coroutine
from typing import Any, ClassVar, Protocol

from sip import digest
from sip.events import Ended, LegEvent, is_terminal
from sip.flood import InviteRate
from sip.legs import EventSink, InboundInvite, InboundLeg, OutboundInvite, OutboundLeg, next_leg_key
from sip.reactor import Reactor, StackStopped
from sip.registration import RegisterRequest, RegisterResponse
from sip.wire import WireTap

logger = logging.getLogger("sip")

# How long stop() waits for the CANCELs it sent to be answered before it closes the socket.
STOP_GRACE_S = 1.0


class InboundHandler(Protocol):
    async def on_invite(self, leg: InboundLeg) -> None:
        """A new dialog-creating INVITE; 100 Trying has already been sent."""

    async def on_register(self, request: RegisterRequest) -> RegisterResponse:
        """A REGISTER; the response is sent on its transaction when this returns."""
        ...


class SipStack:
    """SIP over UDP on host:port. One may run per process: sippy's reactor is a process-wide singleton.

    `timer_b` is RFC 3261's Timer B/F (how long a request nobody answers waits for its synthesized 408), `timer_h`
    its Timer H (how long a final response to an INVITE waits for the ACK; a 200 never ACKed ends with our BYE).
    `nonce_secret` signs digest nonces; nodes serving the same clients must share it. `invite_rate` bounds the
    new INVITEs per source address (sip/flood.py); `stack.invite_rate` may be changed while running. `wire_tap`
    captures every message sent and received (calls/sip_messages.py stores those of the calls).
    """

    _running: ClassVar[SipStack | None] = None

    def __init__(self, *, host: str, port: int, user_agent: str = "RestComm-Calls", timer_b: float = 32.0,
                 timer_h: float = 32.0, nonce_secret: bytes | None = None, invite_rate: InviteRate | None = None,
                 wire_tap: WireTap | None = None) -> None:
        if _is_wildcard(host):
            raise ValueError(f"host {host!r} is written into Via and Contact: give the address peers reach")
        self._host = host
        self._port = port
        self._inbound: InboundHandler | None = None
        self._user_agent = user_agent
        self._timer_b = timer_b
        self._timer_h = timer_h
        self._signer = digest.NonceSigner(nonce_secret)
        self.invite_rate = invite_rate or InviteRate(0)
        self._reactor = Reactor()
        # Where the SIP thread puts every message sent or received, for the loop to read (sip/wire.py); None: nowhere.
        self.wire_tap = wire_tap
        self._core: Any = None
        self._address = (host, port)
        self._legs: dict[int, OutboundLeg | InboundLeg] = {}
        self._tasks: set[asyncio.Task] = set()
        self._live = False
        # While stopping: the legs whose CANCEL awaits its answer, and the event set when none is left.
        self._awaited: set[int] = set()
        self._drained: asyncio.Event | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where we listen (the bound port once started, even when 0 was asked for)."""
        return self._address

    @property
    def running(self) -> bool:
        return self._live

    async def start(self, inbound: InboundHandler) -> None:
        """Binds UDP host:port (OSError when it is taken) and starts the SIP thread; new INVITEs and REGISTERs
        go to `inbound` (the call engine, which was built with this stack)."""
        if SipStack._running is not None:
            raise RuntimeError("a SipStack is already running in this process")
        SipStack._running = self
        self._inbound = inbound
        outlet = _PostingOutlet(self._reactor, self)
        settings = {"host": self._host, "port": self._port, "user_agent": self._user_agent,
                    "timer_b": self._timer_b, "timer_h": self._timer_h, "signer": self._signer, "outlet": outlet,
                    "invite_rate": self.invite_rate, "tap": self.wire_tap}

        def build() -> Any:
            from sip.sipside.core import SipCore

            return SipCore(**settings)

        try:
            self._core = await self._reactor.start(build)
        except BaseException:
            SipStack._running = None
            raise
        self._address = self._core.address
        self._live = True
        logger.info("SIP listening on %s:%d/udp", *self._address)

    async def stop(self) -> None:
        """Ends live calls (BYE, CANCEL or 487), answers pending REGISTERs 503, frees the SIP thread.

        Every leg still live gets its terminal Ended(by_remote=False) before this returns; no event is
        delivered after it.
        """
        if not self._live:
            return
        self._live = False
        core = self._core
        try:
            cancelling = await self._reactor.call(core.end_all)
            # BYEs end their legs at once; a CANCEL completes when the far end answers it (487), which a
            # responsive peer does in milliseconds. Wait a little for those, so they are ACKed.
            self._awaited = cancelling & self._legs.keys()
            if self._awaited:
                self._drained = asyncio.Event()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(STOP_GRACE_S):
                        await self._drained.wait()
        finally:
            await self._reactor.stop()
            legs, self._legs = self._legs, {}
            for leg in legs.values():
                leg._deliver(Ended(by_remote=False))
                leg._silence()
            self._core = None
            self._drained = None
            SipStack._running = None

    async def set_draining(self, draining: bool) -> None:
        """While draining, OPTIONS and new INVITEs get 503: a dispatcher in front sends new calls elsewhere,
        and the dialogs already up go on (in-dialog requests, REGISTER and this node's own INVITEs too)."""
        if self._live:
            await self._reactor.call(self._core.set_draining, draining)

    async def set_timer_h(self, seconds: float) -> None:
        """Timer H from the next final response on (the tests of a server built from Settings shorten it)."""
        self._timer_h = seconds
        if self._live:
            await self._reactor.call(self._core.set_timer_h, seconds)

    async def invite(self, invite: OutboundInvite, on_event: EventSink) -> OutboundLeg:
        """Sends an INVITE. Events may reach `on_event` (on the loop) before this returns.

        Raises ValueError for a URI that cannot be called, StackStopped when the stack is not running.
        """
        if not self._live:
            raise StackStopped("the SIP stack is not running")
        key = next_leg_key()
        leg = OutboundLeg(key, self, f"{secrets.token_hex(16)}@{self._address[0]}", on_event)
        self._legs[key] = leg
        try:
            await self._reactor.call(self._core.place, key, invite, leg.call_id)
        except asyncio.CancelledError:
            # The INVITE goes out regardless (the SIP thread runs what it was handed): end it, or it would
            # ring with nobody to own it. The leg stays registered until its terminal event.
            self._spawn(self.act(key, "hangup"), f"sip-abandon-{leg.call_id}")
            raise
        except BaseException:
            self._legs.pop(key, None)
            raise
        return leg

    # -- LegControl --------------------------------------------------------------------------------------

    async def act(self, key: int, action: str, *args: Any) -> None:
        if not self._live:
            return  # every leg has ended with the stack
        try:
            await self._reactor.call(self._core.act, key, action, args)
        except StackStopped:
            return

    # -- from the SIP thread, run on the loop by the reactor --------------------------------------------------

    def _leg_event(self, key: int, event: LegEvent) -> None:
        leg = self._legs.get(key)
        if leg is None:
            return
        if is_terminal(event):
            del self._legs[key]
            self._awaited.discard(key)
            if self._drained is not None and not self._awaited:
                self._drained.set()
        leg._deliver(event)

    def _inbound_call(self, key: int, invite: InboundInvite) -> None:
        leg = InboundLeg(key, self, invite)
        self._legs[key] = leg
        self._spawn(self._offer(leg), f"sip-invite-{invite.call_id}")

    def _register(self, token: int, request: RegisterRequest) -> None:
        self._spawn(self._answer_register(token, request), f"sip-register-{request.call_id}")

    async def _offer(self, leg: InboundLeg) -> None:
        try:
            await self._inbound.on_invite(leg)
        except Exception:
            logger.exception("the inbound handler failed on %r", leg)
            await leg.reject(500, "Server Internal Error")

    async def _answer_register(self, token: int, request: RegisterRequest) -> None:
        try:
            response = await self._inbound.on_register(request)
            if not 200 <= response.status <= 699:
                raise ValueError(f"{response.status} is not a final status")
        except Exception:
            logger.exception("the registrar failed on a REGISTER for %s", request.to_user)
            response = RegisterResponse(500, "Server Internal Error")
        if not self._live:
            return
        try:
            await self._reactor.call(self._core.reply_register, token, response)
        except StackStopped:
            pass  # stop() has answered it 503
        except Exception:
            logger.exception("sending the REGISTER response for %s failed", request.to_user)

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        # The loop keeps only weak references to tasks.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class _PostingOutlet:
    """The stack's `Outlet`: every method posts to the loop; nothing of the stack runs in the SIP thread."""

    def __init__(self, reactor: Reactor, stack: SipStack) -> None:
        self._reactor = reactor
        self._stack = stack

    def leg_event(self, key: int, event: LegEvent) -> None:
        self._reactor.post(self._stack._leg_event, key, event)

    def inbound_call(self, key: int, invite: InboundInvite) -> None:
        self._reactor.post(self._stack._inbound_call, key, invite)

    def register(self, token: int, request: RegisterRequest) -> None:
        self._reactor.post(self._stack._register, token, request)


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False

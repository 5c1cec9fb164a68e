"""What the SIP thread tells the asyncio side. The stack implements it by posting each call to the loop, so
none of these methods runs asyncio code in the SIP thread."""

from __future__ import annotations

from typing import Protocol

from sip.events import LegEvent
from sip.legs import InboundInvite
from sip.registration import RegisterRequest


class Outlet(Protocol):
    def leg_event(self, key: int, event: LegEvent) -> None: ...

    def inbound_call(self, key: int, invite: InboundInvite) -> None: ...

    def register(self, token: int, request: RegisterRequest) -> None: ...

"""The voice side of the server: RTP ports, the SIP stack and the registrar, handed to the call engine."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from rcml.engine import CallEngine, OutboundProxy
from restcomm.settings import Settings
from sip.call_media import CallMedia
from sip.media.ports import PortPool
from sip.registrar import Registrar
from sip.stack import SipStack

log = logging.getLogger(__name__)


@dataclass
class Voice:
    stack: SipStack

    async def stop(self) -> None:
        await self.stack.stop()


async def start_voice(settings: Settings, engine: CallEngine) -> Voice:
    # Nodes serving the same clients must share the nonce key; one node may leave it random.
    secret = hashlib.sha256(settings.sip_secret.encode()).digest() if settings.sip_secret else None
    stack = SipStack(host=settings.sip_host, port=settings.sip_port, inbound=engine, nonce_secret=secret)
    engine.media = CallMedia(PortPool(*settings.rtp_port_range), settings.sip_host)
    engine.registrar = Registrar()
    engine.outbound_proxy = OutboundProxy.parse(settings.outbound_proxy)
    await stack.start()
    engine.stack = stack
    return Voice(stack)

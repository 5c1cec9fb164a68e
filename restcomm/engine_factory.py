"""The call engine, built complete from the settings: its SIP stack (not started yet), RTP media, registrar and
outbound proxy when SIP is on, and the HTTP side it talks to applications with."""

from __future__ import annotations

import hashlib

from calls.callbacks import CallbackSender
from calls.engine import CallEngine
from calls.guessing import GuessThrottle
from calls.limits import Limits
from calls.recordings import RecordingStore
from calls.registrar import ClientRegistrar
from calls.sip_messages import SipMessageLog
from calls.types import OutboundProxy
from models.directory import AccountDirectory
from rcml.audio import AudioLibrary
from rcml.documents import DocumentFetcher
from rcml.event_log import EventLog
from rcml.http import HttpClient
from rcml.webhooks import Webhooks
from restcomm.settings import Settings
from sip.flood import InviteRate
from sip.media.decoder import DecodeLimits
from sip.media.decoder_pool import DecoderPool
from sip.media.ports import PortPool
from sip.media_factory import MediaFactory
from sip.registration import NatMode
from sip.stack import SipStack
from sip.wire import WireTap


def build_engine(settings: Settings, http: HttpClient,
                 accounts: AccountDirectory | None = None) -> CallEngine:
    """The lifespan starts the engine's stack (`engine.stack.start(engine)`) and stops it."""
    stack = media = registrar = sip_messages = None
    if settings.sip_enabled:
        # Nodes serving the same clients must share the nonce key; one node may leave it random.
        secret = hashlib.sha256(settings.sip_secret.encode()).digest() if settings.sip_secret else None
        stack = SipStack(host=settings.sip_host, port=settings.sip_port, nonce_secret=secret,
                         invite_rate=InviteRate(settings.invite_rate, trusted_proxies=frozenset(
                             settings.sip_trusted_proxies.replace(",", " ").split())),
                         wire_tap=WireTap() if settings.sip_messages else None)
        media = MediaFactory(PortPool(*settings.rtp_port_range), settings.sip_host)
        registrar = ClientRegistrar(GuessThrottle.from_limit(settings.login_guess_limit))
        if stack.wire_tap is not None:
            # Each call's SIP messages, kept as long as its Call Events.
            sip_messages = SipMessageLog(stack.wire_tap, settings.call_events_retention)
    # Every webhook signed with its account's token and kept as a Call Event.
    events = EventLog(settings.call_events_retention)
    webhooks = Webhooks(http, accounts=accounts or AccountDirectory(), events=events)
    return CallEngine(
        node=settings.node,
        base_url=settings.base_url,
        fetcher=DocumentFetcher(http, settings.base_url, webhooks),
        callbacks=CallbackSender(http, settings.base_url, webhooks=webhooks),
        events=events,
        sip_messages=sip_messages,
        audio=AudioLibrary(http, settings.base_url, decoder=DecoderPool(audio_limits(settings),
                                                                     workers=settings.audio_decode_workers),
                           cache_bytes=settings.audio_cache_bytes),
        recordings=RecordingStore(settings.recordings_dir),
        stack=stack,
        media=media,
        registrar=registrar,
        sip_nat=NatMode(settings.sip_nat),
        outbound_proxy=OutboundProxy.parse(settings.outbound_proxy),
        internal_url=settings.internal_url,
        lease_seconds=settings.node_lease_seconds,
        limits=Limits(dial_max_destinations=settings.dial_max_destinations,
                      max_call_seconds=settings.max_call_seconds, max_calls_per_account=settings.account_max_calls,
                      max_calls_per_number=settings.number_max_calls,
                      rtp_timeout_seconds=settings.rtp_timeout_seconds),
        cluster_secret=settings.cluster_secret,
    )


def audio_limits(settings: Settings) -> DecodeLimits:
    return DecodeLimits(max_bytes=settings.audio_max_bytes, max_seconds=float(settings.audio_max_seconds),
                        timeout_s=float(settings.audio_decode_timeout))

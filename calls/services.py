"""What owners and their verbs' facade use of the engine; the engine builds one, owners never see the engine."""

from __future__ import annotations

from dataclasses import dataclass, field

from calls.background import BackgroundTasks
from calls.callbacks import CallbackSender
from calls.cluster.room_link import RoomLinks
from calls.limits import Limits
from calls.recordings import RecordingStore
from calls.rooms import Rooms
from calls.routing import Routes
from calls.sip_messages import SipMessageLog
from rcml.audio import AudioLibrary
from rcml.documents import DocumentFetcher
from sip.media_factory import MediaFactory
from sip.stack import SipStack


@dataclass(frozen=True)
class Services:
    base_url: str
    fetcher: DocumentFetcher
    callbacks: CallbackSender
    audio: AudioLibrary
    recordings: RecordingStore
    rooms: Rooms
    routes: Routes
    background: BackgroundTasks
    # Both None when SIP is off (RESTCOMM_SIP_PORT=0): then no owner is ever made.
    stack: SipStack | None = None
    media: MediaFactory | None = None
    limits: Limits = field(default_factory=Limits)
    # The calls' SIP messages, stored behind; None where nothing records them (SIP off, the engine's unit tests).
    sip_messages: SipMessageLog | None = None
    # Joins callers to rooms other nodes run; None without SIP or without a cluster secret.
    room_links: RoomLinks | None = None

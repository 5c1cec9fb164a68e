"""The call engine: creates calls, hands each live one to its owner, routes SIP and API work to owners.

Handlers call `create_call` and `modify_call`; the SIP stack calls `on_invite` and `on_register`. The
engine keeps the registry of live owners on this node (call SID -> owner). Without a SIP stack (SIP
disabled with port 0) a created call is stored `queued` and nothing pretends it progressed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from models import Call, CallStatus, Client, Direction, IncomingPhoneNumber, Registration, clock, sids
from models.account import Account
from models.call import LIVE_STATUSES
from models.client import ClientStatus
from models.phone_number import number_variants
from rcml import notifications
from rcml.audio import AudioLibrary
from rcml.callbacks import Callback, CallbackSender
from rcml.conference import Rooms
from rcml.dial_leg import DialLegOwner, Report
from rcml.documents import DocumentFetcher
from rcml.inbound import InboundOwner
from rcml.outbound import OutboundOwner
from rcml.owner import API_VERSION, PRICE_UNIT, ZERO_PRICE, CallEnded, CallOwner
from rcml.recordings import RecordingStore
from rcml.session import Source
from sip.destination import Destination, DestinationKind, caller_display, parse_sip_uri, sip_user_part
from sip.legs import OutboundInvite

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallRequest:
    """A validated request to place a call (POST Calls)."""

    from_: str
    to: Destination
    url: str
    method: str = "POST"
    fallback_url: str | None = None
    fallback_method: str = "POST"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: tuple[str, ...] = ("completed",)
    timeout: int = 60
    # Digest credentials for the far end; kept in memory by the call's owner, never stored.
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CallChange:
    """A validated live modification (POST Calls/{CallSid})."""

    url: str | None = None
    method: str | None = None
    status: str | None = None
    fallback_url: str | None = None
    fallback_method: str | None = None
    status_callback: str | None = None
    status_callback_method: str | None = None
    move_connected_leg: bool | None = None
    mute: bool | None = None

    @property
    def is_empty(self) -> bool:
        return all(value is None for value in vars(self).values())


@dataclass(frozen=True)
class Target:
    """One place to send an INVITE for a call."""

    request_uri: str
    to_uri: str
    next_hop: tuple[str, int] | None = None
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)


class CallNotLive(Exception):
    """The call has ended, or is not in a state that allows the change."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnknownClient(ValueError):
    """`client:name` names no client of the account."""


@dataclass(frozen=True)
class OutboundProxy:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, text: str) -> OutboundProxy | None:
        """`[user:password@]host[:port]`, as RESTCOMM_OUTBOUND_PROXY gives it; empty means none."""
        if not text:
            return None
        credentials, _, address = text.rpartition("@")
        host, _, port = address.partition(":")
        username, _, password = credentials.partition(":")
        return cls(host, int(port or 5060), username or None, password or None)


class CallEngine:
    def __init__(self, *, node: str, base_url: str, fetcher: DocumentFetcher, callbacks: CallbackSender,
                 audio: AudioLibrary, recordings: RecordingStore, stack: Any = None, media: Any = None,
                 outbound_proxy: OutboundProxy | None = None, registrar: Any = None) -> None:
        self.node = node
        self.audio = audio
        self.recordings = recordings
        self._background: set[asyncio.Task] = set()
        self.rooms = Rooms(node)
        self.base_url = base_url
        self.fetcher = fetcher
        self.callbacks = callbacks
        self.stack = stack
        self.media = media
        self.outbound_proxy = outbound_proxy
        self.registrar = registrar
        self.owners: dict[str, CallOwner] = {}

    # --- the API side -----------------------------------------------------------------------------------------

    async def create_call(self, account_sid: str, request: CallRequest) -> Call:
        if request.to.kind is DestinationKind.CLIENT and not await Client.exists(
                login=request.to.target, account_sid=account_sid):
            raise UnknownClient(f"client:{request.to.target} is not a client of account {account_sid}")
        call = await self._new_call(account_sid, request, Direction.OUTBOUND_API)
        if self.stack is not None:
            self._adopt(OutboundOwner(self, call, request))
        return call

    async def dial_leg(self, parent: Call, request: CallRequest, report: Report) -> DialLegOwner:
        """A leg of `parent`'s <Dial>: a call of its own (outbound-dial), placed now."""
        call = await self._new_call(parent.account_sid, request, Direction.OUTBOUND_DIAL, parent_call_sid=parent.sid)
        owner = DialLegOwner(self, call, request, report)
        self._adopt(owner)
        return owner

    async def _new_call(self, account_sid: str, request: CallRequest, direction: Direction,
                        parent_call_sid: str | None = None) -> Call:
        now = clock.now()
        call = Call(
            sid=sids.new_sid(sids.CALL),
            account_sid=account_sid,
            parent_call_sid=parent_call_sid,
            date_created=now,
            date_updated=now,
            to_address=request.to.display,
            from_address=caller_display(request.from_),
            destination=request.to.target,
            sip_headers=request.to.header_text,
            status=CallStatus.QUEUED.value,
            start_time=now,
            direction=direction.value,
            url=request.url,
            method=request.method,
            fallback_url=request.fallback_url,
            fallback_method=request.fallback_method,
            status_callback=request.status_callback,
            status_callback_method=request.status_callback_method,
            status_callback_event=",".join(request.status_callback_events),
            timeout=request.timeout,
            owner_node=self.node if self.stack is not None else None,
        )
        await call.save(force_create=True)
        return call

    async def modify_call(self, call: Call, change: CallChange) -> Call:
        owner = self.owners.get(call.sid)
        if owner is None:
            return await _modify_unowned(call, change)
        if change.mute is not None and owner.answered_at is None:
            raise CallNotLive(f"Only a call in progress can be muted; this call is {owner.call.status}")
        if change.move_connected_leg and owner.answered_at is None:
            raise CallNotLive(f"Call is {owner.call.status}: it has no connected leg to move")
        async def apply() -> None:
            await owner.apply_change(change)
            await owner.write_pending()  # the call is read back from the database below

        try:
            await owner.ask(apply)
        except CallEnded as ended:
            raise CallNotLive(f"Call is not live: it ended as {ended.status}") from None
        await call.refresh_from_db()
        return call

    # --- owners -------------------------------------------------------------------------------------------------

    def _adopt(self, owner: CallOwner) -> None:
        self.owners[owner.call.sid] = owner
        owner.start()

    def spawn(self, coroutine: Any) -> None:
        """Run work that outlives the task that started it (the loop keeps only weak task references)."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def forget(self, owner: CallOwner) -> None:
        if self.owners.get(owner.call.sid) is owner:
            del self.owners[owner.call.sid]

    # --- where INVITEs go ----------------------------------------------------------------------------------------

    async def targets_for(self, call: Call, destination: Destination) -> list[Target]:
        """Where to send the INVITE(s); none (with a Notification recorded) when the call cannot be placed."""
        if destination.kind is DestinationKind.SIP:
            return [Target(destination.target, destination.target)]
        if destination.kind is DestinationKind.CLIENT:
            return await self._client_targets(call, destination.target)
        proxy = self.outbound_proxy
        if proxy is None:
            await notifications.record(account_sid=call.account_sid, call_sid=call.sid, code=21215,
                                       message=f"Cannot call {destination.target}: no outbound proxy is configured "
                                               "(RESTCOMM_OUTBOUND_PROXY)")
            return []
        uri = f"sip:{destination.target}@{proxy.host}:{proxy.port}"
        return [Target(uri, uri, (proxy.host, proxy.port), proxy.username, proxy.password)]

    async def _client_targets(self, call: Call, login: str) -> list[Target]:
        client = await Client.get_or_none(login=login, account_sid=call.account_sid)
        registrations = []
        if client is not None and client.status == ClientStatus.ENABLED:
            registrations = await Registration.filter(client_sid=client.sid, expires_at__gt=clock.now())
        if not registrations:
            await notifications.record(account_sid=call.account_sid, call_sid=call.sid, code=11008,
                                       message=f"The client {login} is not registered (or is disabled)")
            return []
        host, port = self.stack.address
        return [Target(registration.contact_uri, f"sip:{login}@{host}:{port}",
                       (registration.source_host, registration.source_port)) for registration in registrations]

    def invite_for(self, call: Call, request: CallRequest, target: Target, sdp_offer: str) -> OutboundInvite:
        headers = [("X-RestComm-CallSid", call.sid), ("X-RestComm-AccountSid", call.account_sid),
                   ("X-RestComm-ApiVersion", API_VERSION), *request.to.headers]
        return OutboundInvite(
            request_uri=target.request_uri,
            to_uri=target.to_uri,
            from_user=sip_user_part(request.from_),
            from_display=None,
            sdp_offer=sdp_offer,
            headers=tuple(headers),
            username=request.username or target.username,
            password=request.password or target.password,
            next_hop=target.next_hop,
        )

    # --- the SIP side ---------------------------------------------------------------------------------------------

    async def on_invite(self, leg: Any) -> None:
        route = await self._inbound_route(leg.request_user)
        if route is None:
            await leg.reject(404, "Not Found")
            return
        account_sid, source, phone_number_sid, callback_url, callback_method = route
        account = await Account.get_or_none(sid=account_sid)
        if account is None or not account.may_authenticate:
            await leg.reject(403, "Forbidden")
            return
        now = clock.now()
        call = await Call.create(
            sid=sids.new_sid(sids.CALL),
            account_sid=account_sid,
            date_created=now,
            date_updated=now,
            to_address=leg.request_user,
            from_address=leg.from_user,
            destination=leg.request_user,
            phone_number_sid=phone_number_sid,
            status=CallStatus.RINGING.value,
            start_time=now,
            direction=Direction.INBOUND.value,
            caller_name=leg.from_display or None,
            forwarded_from=_forwarded_from(leg.headers),
            url=source.url,
            method=source.method,
            fallback_url=source.fallback_url,
            fallback_method=source.fallback_method,
            status_callback=callback_url,
            status_callback_method=callback_method,
            owner_node=self.node,
        )
        header_parameters = {f"SipHeader_{name}": value for name, value in leg.headers.items()
                             if name.lower().startswith("x-")}
        self._adopt(InboundOwner(self, call, leg, source=source, callback_url=callback_url,
                                 callback_method=callback_method, sip_header_parameters=header_parameters))

    async def _inbound_route(self, dialed: str):
        number = await IncomingPhoneNumber.filter(phone_number__in=number_variants(dialed)).first()
        if number is not None and number.voice_url:
            source = Source(number.voice_url, number.voice_method, number.voice_fallback_url,
                            number.voice_fallback_method)
            return number.account_sid, source, number.sid, number.status_callback, number.status_callback_method
        client = await Client.get_or_none(login=dialed, status=ClientStatus.ENABLED)
        if client is not None and client.voice_url:
            source = Source(client.voice_url, client.voice_method, client.voice_fallback_url,
                            client.voice_fallback_method)
            return client.account_sid, source, None, None, "POST"
        return None

    async def on_register(self, request: Any) -> Any:
        return await self.registrar.handle(request)

    # --- start and stop ---------------------------------------------------------------------------------------------

    async def recover(self) -> int:
        """Close the calls this node left live when it stopped abruptly: `failed`, with their callbacks."""
        leftovers = await Call.filter(owner_node=self.node, status__in=[s.value for s in LIVE_STATUSES])
        for call in leftovers:
            now = clock.now()
            changed = await Call.filter(sid=call.sid, status__in=[s.value for s in LIVE_STATUSES]).update(
                status=CallStatus.FAILED.value, end_time=now, date_updated=now, duration=0, price=ZERO_PRICE,
                price_unit=PRICE_UNIT)
            if not changed:
                continue
            await call.refresh_from_db()
            await notifications.record(account_sid=call.account_sid, call_sid=call.sid, code=12500,
                                       message="The server stopped while this call was live; it was closed as "
                                               "failed on restart")
            if call.status_callback and "completed" in call.status_callback_event.split(","):
                self.callbacks.send(Callback(call.account_sid, call.sid, call.status_callback,
                                             call.status_callback_method, _recovered_parameters(call)))
        await self.rooms.recover()
        return len(leftovers)

    async def shutdown(self, within: float = 5.0) -> None:
        """Hang up every live call (each gets its final status and callback), then stop sending callbacks."""
        owners = list(self.owners.values())
        for owner in owners:
            with contextlib.suppress(CallEnded):
                owner.post_hangup()
        if owners:
            await asyncio.wait([asyncio.ensure_future(o.wait_finished()) for o in owners], timeout=within)
        if self._background:
            await asyncio.wait(list(self._background), timeout=within)
        await self.rooms.close_all()
        await self.callbacks.close(within)


def _forwarded_from(headers: dict[str, str]) -> str | None:
    diversion = next((value for name, value in headers.items() if name.lower() == "diversion"), None)
    if not diversion:
        return None
    uri = diversion.split("<", 1)[-1].split(">", 1)[0]
    with contextlib.suppress(ValueError):
        return parse_sip_uri(uri.split(";", 1)[0]).user
    return None


def _recovered_parameters(call: Call) -> dict[str, str]:
    return {
        "CallSid": call.sid, "AccountSid": call.account_sid, "From": call.from_address, "To": call.to_address,
        "CallStatus": call.status, "ApiVersion": API_VERSION, "Direction": call.direction,
        "ForwardedFrom": call.forwarded_from or "", "CallerName": call.caller_name or "", "SequenceNumber": "0",
        "Timestamp": clock.rfc2822(call.end_time), "CallbackSource": "call-progress-events", "CallDuration": "0",
    }


async def _modify_unowned(call: Call, change: CallChange) -> Call:
    """A modification of a call no owner runs here: one still queued because SIP is disabled."""
    if not call.is_live:
        raise CallNotLive(f"Call is not live: it ended as {call.status}")
    if change.mute is not None and call.status != CallStatus.IN_PROGRESS:
        raise CallNotLive(f"Only a call in progress can be muted; this call is {call.status}")
    if change.move_connected_leg and call.status != CallStatus.IN_PROGRESS:
        raise CallNotLive(f"Call is {call.status}: it has no connected leg to move")
    updates: dict[str, object] = {name: getattr(change, name) for name in
                                  ("url", "method", "fallback_url", "fallback_method", "status_callback",
                                   "status_callback_method") if getattr(change, name) is not None}
    hang_up = change.status == CallStatus.COMPLETED or (
        change.status == CallStatus.CANCELED and call.status in (CallStatus.QUEUED, CallStatus.RINGING))
    if hang_up:
        # Never answered, so it ends canceled whichever of the two was asked for (contract section 7).
        updates.update(status=CallStatus.CANCELED.value, end_time=clock.now(), duration=0, price=ZERO_PRICE,
                       price_unit=PRICE_UNIT)
    if not updates:
        return call
    updates["date_updated"] = clock.now()
    # Conditional on the call still being live: a concurrent change that ended it wins.
    changed = await Call.filter(sid=call.sid, status__in=[s.value for s in LIVE_STATUSES]).update(**updates)
    await call.refresh_from_db()
    if not changed:
        raise CallNotLive(f"Call is not live: it ended as {call.status}")
    return call

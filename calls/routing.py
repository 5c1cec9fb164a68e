"""Where calls go: the INVITE(s) for a call we place, and the account and application of a call that came in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from calls import notifications
from calls.types import API_VERSION, CallRequest, OutboundProxy, Target
from models import Call, Client, IncomingPhoneNumber, Registration, clock
from models.client import ClientStatus
from models.phone_number import number_variants
from rcml.session import Source
from sip.destination import Destination, DestinationKind, sip_user_part
from sip.legs import OutboundInvite
from sip.registration import NatMode, contact_host


@dataclass(frozen=True)
class InboundRoute:
    """What answers a dialled number or client login: its account, its application and its callback."""

    account_sid: str
    source: Source
    phone_number_sid: str | None = None
    status_callback: str | None = None
    status_callback_method: str = "POST"
    # The dialect its calls' webhooks speak (the number's; clients' calls speak RestComm's).
    api_version: str = API_VERSION


class Routes:
    def __init__(self, *, outbound_proxy: OutboundProxy | None, sip_address: Callable[[], tuple[str, int]],
                 nat: NatMode = NatMode.AUTO) -> None:
        self.outbound_proxy = outbound_proxy
        self.nat = nat
        # Where our SIP stack listens (its bound port is known once it runs).
        self._sip_address = sip_address

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
        host, port = self._sip_address()
        return [Target(registration.contact_uri, f"sip:{login}@{host}:{port}", self._next_hop(registration),
                       routes=tuple(registration.path.split(",")) if registration.path else ())
                for registration in registrations]

    def _next_hop(self, registration: Registration) -> tuple[str, int] | None:
        """Where the INVITE to a binding is sent: the first proxy of its Path; else its Contact (RFC 3261), or the
        address its REGISTER came from when that showed NAT (or RESTCOMM_SIP_NAT=force says always)."""
        if registration.path:
            return _host_port(registration.path.split(",")[0])
        from_source = self.nat is NatMode.FORCE or (self.nat is NatMode.AUTO and registration.behind_nat)
        return (registration.source_host, registration.source_port) if from_source else None

    @staticmethod
    def invite_for(call: Call, request: CallRequest, target: Target, sdp_offer: str) -> OutboundInvite:
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
            routes=target.routes,
        )

    @staticmethod
    async def inbound_route(dialed: str) -> InboundRoute | None:
        """The client of that login, else the IncomingPhoneNumber dialled (any spelling of it).

        Numbers and logins share one namespace (creating either refuses a name the other holds); for names that
        collide in data made before that rule, a client is never shadowed: a number spelled like a client's
        login cannot capture the client's calls, even when the client itself takes no calls."""
        client = await Client.get_or_none(login=dialed)
        if client is not None:
            if client.status != ClientStatus.ENABLED or not client.voice_url:
                return None
            source = Source(client.voice_url, client.voice_method, client.voice_fallback_url,
                            client.voice_fallback_method)
            return InboundRoute(client.account_sid, source)
        number = await IncomingPhoneNumber.filter(phone_number__in=number_variants(dialed)).first()
        if number is not None and number.voice_url:
            source = Source(number.voice_url, number.voice_method, number.voice_fallback_url,
                            number.voice_fallback_method)
            return InboundRoute(number.account_sid, source, number.sid, number.status_callback,
                                number.status_callback_method, number.api_version)
        return None


def _host_port(uri: str) -> tuple[str, int] | None:
    """`sip:10.0.0.1:5060;lr` -> ("10.0.0.1", 5060); the default port when it names none."""
    host = contact_host(uri)
    if host is None:
        return None
    after = uri.split(host, 1)[1]
    port = after[1:].split(";", 1)[0].split(">", 1)[0] if after.startswith(":") else ""
    return host, int(port) if port.isdigit() else 5060

"""Where a call goes: the `To` of a new call parsed into a SIP URI, a registered client, or a number.

Contract section 6: `sip:user@host[:port]` rings that URI; `client:name` rings the client's registered
contacts; anything else is a number for the outbound proxy. Text after `?` becomes extra SIP headers.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import quote


class DestinationKind(Enum):
    SIP = "sip"
    CLIENT = "client"
    NUMBER = "number"


class InvalidAddress(ValueError):
    pass


_SIP_URI = re.compile(
    # The user part as RFC 3261 writes it: unreserved and user-unreserved characters, or %-escapes.
    r"^(?P<scheme>sips?):(?:(?P<user>(?:[A-Za-z0-9_.!~*'()&=+$,/-]|%[0-9A-Fa-f]{2})+)@)?"
    r"(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)"
    r"(?::(?P<port>\d{1,5}))?(?P<params>;[^?\x00-\x20\x7f]*)?$",
    re.IGNORECASE,
)
_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_CLIENT_NAME = re.compile(r"^[A-Za-z0-9._~+-]{1,64}$")
_NUMBER_SEPARATORS = re.compile(r"[\s().-]")
_NUMBER = re.compile(r"^\+?[0-9*#]{1,40}$")
# RFC 3261 token characters; only X- headers may be added, so a caller cannot rewrite routing headers.
_HEADER_NAME = re.compile(r"^X-[A-Za-z0-9.!%*_+`'~-]+$")


@dataclass(frozen=True)
class SipUri:
    scheme: str
    user: str | None
    host: str
    port: int | None
    params: str

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{self.scheme}:{user}{self.host}{port}{self.params}"


def parse_sip_uri(text: str) -> SipUri:
    match = _SIP_URI.match(text)
    if not match:
        raise InvalidAddress(f"{text!r} is not a SIP URI of the form sip:user@host[:port]")
    host = match["host"]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise InvalidAddress(f"{host} is not an IPv6 address") from None
    elif not all(_HOSTNAME_LABEL.match(label) for label in host.rstrip(".").split(".")):
        raise InvalidAddress(f"{host!r} is not a host name or address")
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 1 <= port <= 65535:
        raise InvalidAddress(f"port {port} is out of range")
    return SipUri(match["scheme"].lower(), match["user"], host, port, match["params"] or "")


@dataclass(frozen=True)
class Destination:
    kind: DestinationKind
    # The SIP URI, the client name, or the number (separators removed).
    target: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def display(self) -> str:
        """What the Call shows as `to`: the user part of a SIP URI, the client name, or the number."""
        if self.kind is DestinationKind.SIP:
            uri = parse_sip_uri(self.target)
            return uri.user or uri.host
        return self.target

    @property
    def header_text(self) -> str:
        return "&".join(f"{name}={value}" for name, value in self.headers)


def parse_headers(text: str) -> tuple[tuple[str, str], ...]:
    """`X-A=1&X-B=2` as written (no percent-decoding: the form body was decoded once already)."""
    if not text:
        return ()
    pairs = []
    for item in text.split("&"):
        name, equals, value = item.partition("=")
        if not _HEADER_NAME.match(name) or not equals:
            raise InvalidAddress(f"extra header {name!r} must be written X-Name=value")
        if any(ord(ch) < 0x20 or ch == "\x7f" for ch in value):
            raise InvalidAddress(f"extra header {name} has a control character in its value")
        pairs.append((name, value))
    return tuple(pairs)


def parse_destination(to: str) -> Destination:
    address, _, header_text = to.strip().partition("?")
    headers = parse_headers(header_text)
    lowered = address.lower()
    if lowered.startswith(("sip:", "sips:")):
        return Destination(DestinationKind.SIP, str(parse_sip_uri(address)), headers)
    if lowered.startswith("client:"):
        name = address[len("client:"):]
        if not _CLIENT_NAME.match(name):
            raise InvalidAddress(f"{name!r} is not a client name")
        return Destination(DestinationKind.CLIENT, name, headers)
    number = _NUMBER_SEPARATORS.sub("", address)
    if not _NUMBER.match(number):
        raise InvalidAddress(
            f"{address!r} is neither a SIP URI (sip:user@host), a client (client:name) nor a phone number"
        )
    return Destination(DestinationKind.NUMBER, number, headers)


def caller_display(from_: str) -> str:
    """What the Call shows as `from`: the user part when From is a SIP URI, else From as given.

    From is free text (a number, a name); one that merely starts with "sip:" is shown as it is.
    """
    if from_.lower().startswith(("sip:", "sips:")):
        try:
            uri = parse_sip_uri(from_)
        except InvalidAddress:
            return from_
        return uri.user or uri.host
    return from_


# RFC 3261's user part: unreserved and user-unreserved characters stand as they are, the rest is escaped.
_USER_SAFE = "-_.!~*'()&=+$,;?/"


def sip_user_part(from_: str) -> str:
    """From as the user part of our From URI: a SIP URI's user, or the text, escaped so any text is valid."""
    user = caller_display(from_)
    return quote(user, safe=_USER_SAFE)

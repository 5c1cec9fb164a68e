"""A REGISTER as the registrar sees it, and the answer it gives; the stack does the SIP around them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum

from sip import digest


class NatMode(StrEnum):
    """Where calls to a registered contact go (RESTCOMM_SIP_NAT).

    AUTO: to the Contact, as RFC 3261 says, unless the REGISTER shows NAT (then to where it came from);
    FORCE: always where the REGISTER came from; OFF: always the Contact.
    """

    AUTO = "auto"
    FORCE = "force"
    OFF = "off"


@dataclass(frozen=True)
class RegisterRequest:
    to_user: str
    # (Contact URI, its expires parameter or None); the URI "*" with the Expires header 0 removes every binding.
    contacts: list[tuple[str, int | None]]
    expires: int | None
    call_id: str
    cseq: int
    source: tuple[str, int]
    # Digest fields of the Authorization header (names lower-cased), or None when it carried none.
    authorization: dict[str, str] | None
    _signer: digest.NonceSigner = field(repr=False, compare=False)
    # The sent-by of the topmost Via: where the sender says it sends from.
    via: tuple[str, int] | None = None
    # The Path header's URIs (RFC 3327), in order: the proxies a call to these bindings must go through.
    path: tuple[str, ...] = ()

    def behind_nat(self, contact: str) -> bool:
        """Whether this REGISTER shows NAT for `contact`, as Kamailio's nat_uac_test (flags 1, 2 and 16) sees it:
        the Contact's host is a private address while the source is not, or the topmost Via names another
        address or port than the one the request came from."""
        source_host, source_port = self.source
        host = contact_host(contact)
        if host is not None and _is_private(host) and not _is_private(source_host):
            return True
        return self.via is not None and self.via != (source_host, source_port)

    def verify_digest(self, password: str, realm: str) -> bool:
        """True when the request proves `password` for the registering user under a live nonce of ours.

        The Authorization username must be the user being registered (To), so credentials of one client
        can never register another.
        """
        credentials = self.authorization
        if credentials is None or credentials.get("username") != self.to_user:
            return False
        return digest.verify(credentials, password=password, realm=realm, method="REGISTER", signer=self._signer)

    def verify_digest_ha1(self, ha1: str, realm: str) -> bool:
        """As verify_digest, for a registrar that stores MD5(username:realm:password) instead of passwords."""
        credentials = self.authorization
        if credentials is None or credentials.get("username") != self.to_user:
            return False
        return digest.verify(credentials, ha1=ha1, realm=realm, method="REGISTER", signer=self._signer)


@dataclass(frozen=True)
class RegisterResponse:
    status: int
    reason: str
    # (Contact URI, granted expires) pairs echoed in the response: the client's bindings after this request.
    contacts: tuple[tuple[str, int], ...] = ()
    # When set, the response carries a WWW-Authenticate challenge with a fresh nonce for this realm.
    challenge_realm: str | None = None

    @classmethod
    def ok(cls, contacts: tuple[tuple[str, int], ...] = ()) -> RegisterResponse:
        return cls(200, "OK", contacts)

    @classmethod
    def unauthorized(cls, realm: str) -> RegisterResponse:
        return cls(401, "Unauthorized", challenge_realm=realm)


def contact_host(uri: str) -> str | None:
    """The host of a SIP URI (`sip:alice@10.0.0.5:5062;transport=udp` -> `10.0.0.5`)."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    rest = rest.split("@", 1)[-1].split(";", 1)[0].split("?", 1)[0]
    if rest.startswith("["):
        return rest[1:].split("]", 1)[0]
    return rest.split(":", 1)[0] or None


# RFC 1918, RFC 6598 (carrier-grade NAT) and IPv6 unique-local: the addresses of a phone behind NAT.
_PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                    "100.64.0.0/10", "fc00::/7"))


def _is_private(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address.version == network.version and address in network for network in _PRIVATE)

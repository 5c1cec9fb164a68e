"""Which addresses the server may fetch from on a tenant's behalf (RESTCOMM_FETCH_DENY / RESTCOMM_FETCH_ALLOW).

Every URL the server fetches or posts to for a tenant (RCML documents, actions, status callbacks, <Play>
audio) is the tenant's choice, and what comes back is partly shown to the tenant (a Notification's
`response_body`): without a policy, a tenant could read internal services and cloud metadata through the
server (server-side request forgery). The policy is applied to the addresses a host name resolves to, at
the moment of connecting, and on every redirect hop (each hop connects anew), so neither a name that
resolves to a denied address nor a redirect to one gets through.

An address is refused when it is in a denied network and in no allowed one: `allow` carves exceptions out of
`deny`. The default denies link-local addresses (169.254.0.0/16, where the cloud metadata services of AWS,
GCP, Azure and OCI answer, and fe80::/10) and the other metadata addresses (Alibaba's 100.100.100.200, AWS's
IPv6 fd00:ec2::254); loopback stays allowed, because the demos and the docs' examples are served there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_DENY = "169.254.0.0/16,fe80::/10,100.100.100.200/32,fd00:ec2::254/128"


class FetchDenied(Exception):
    """Every address of the host is refused by the fetch policy."""


def parse_networks(text: str) -> tuple[Network, ...]:
    """A comma- (or space-) separated list of CIDRs or single addresses; raises ValueError naming a bad one."""
    networks = []
    for item in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP network (CIDR, such as 10.0.0.0/8) or address") from None
    return tuple(networks)


@dataclass(frozen=True)
class FetchPolicy:
    deny: tuple[Network, ...] = parse_networks(DEFAULT_DENY)
    allow: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, deny: str = DEFAULT_DENY, allow: str = "") -> FetchPolicy:
        return cls(parse_networks(deny), parse_networks(allow))

    def permits(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope (fe80::1%eth0) is not the address
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
        if any(ip in network for network in self.allow if network.version == ip.version):
            return True
        return not any(ip in network for network in self.deny if network.version == ip.version)

    def filter(self, host: str, addresses: Iterable[str]) -> list[str]:
        """The permitted ones of `host`'s addresses; raises FetchDenied when none is."""
        addresses = list(addresses)
        permitted = [address for address in addresses if self.permits(address)]
        if addresses and not permitted:
            raise FetchDenied(f"{host} ({', '.join(addresses[:3])}) is refused by the server's fetch policy "
                              "(RESTCOMM_FETCH_DENY)")
        return permitted

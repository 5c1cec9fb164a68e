"""Where an INVITE to a registered contact goes (RESTCOMM_SIP_NAT), decided from what its REGISTER showed."""

from __future__ import annotations

import pytest

from calls.routing import Routes
from models import Registration
from restcomm.settings import Settings
from sip import digest
from sip.registration import NatMode, RegisterRequest


def register(source: tuple[str, int], via: tuple[str, int] | None) -> RegisterRequest:
    return RegisterRequest(to_user="alice", contacts=[], expires=None, call_id="c", cseq=1, source=source,
                           authorization=None, _signer=digest.NonceSigner(b"k" * 32), via=via)


@pytest.mark.parametrize(("source", "via", "contact", "nat"), [
    # The phone sends from where it says and is called where it says: no NAT.
    (("203.0.113.7", 5060), ("203.0.113.7", 5060), "sip:alice@203.0.113.7:5060", False),
    # Third-party registration / a phone that listens on another port than it sends from: still no NAT.
    (("203.0.113.7", 5060), ("203.0.113.7", 5060), "sip:alice@198.51.100.9:5070", False),
    # Via names a private address: NAT rewrote the source (nat_uac_test 2).
    (("203.0.113.7", 40000), ("192.168.1.10", 5060), "sip:alice@192.168.1.10:5060", True),
    # Same host, other port (nat_uac_test 16).
    (("203.0.113.7", 40000), ("203.0.113.7", 5060), "sip:alice@203.0.113.7:5060", True),
    # A private Contact from a public source (nat_uac_test 1), even if the Via was fixed up.
    (("203.0.113.7", 5060), ("203.0.113.7", 5060), "sip:alice@10.0.0.5:5060", True),
    # Everything on one private network: no NAT.
    (("10.0.0.5", 5060), ("10.0.0.5", 5060), "sip:alice@10.0.0.6:5060", False),
])
def test_behind_nat_as_kamailio_nat_uac_test_sees_it(source, via, contact, nat):
    assert register(source, via).behind_nat(contact) is nat


def binding(behind_nat: bool, path: str = "") -> Registration:
    return Registration(login="alice", contact_uri="sip:alice@10.0.0.5:5060", source_host="203.0.113.7",
                        source_port=40000, behind_nat=behind_nat, path=path)


@pytest.mark.parametrize(("mode", "behind_nat", "hop"), [
    (NatMode.AUTO, False, None),  # None: the Contact's own host and port
    (NatMode.AUTO, True, ("203.0.113.7", 40000)),
    (NatMode.FORCE, False, ("203.0.113.7", 40000)),
    (NatMode.OFF, True, None),
])
def test_next_hop_by_mode(mode, behind_nat, hop):
    routes = Routes(outbound_proxy=None, sip_address=lambda: ("127.0.0.1", 5080), nat=mode)
    assert routes._next_hop(binding(behind_nat)) == hop


def test_a_path_wins_over_every_mode():
    for mode in NatMode:
        routes = Routes(outbound_proxy=None, sip_address=lambda: ("127.0.0.1", 5080), nat=mode)
        assert routes._next_hop(binding(True, "sip:198.51.100.1:5070;lr,sip:198.51.100.2;lr")) == (
            "198.51.100.1", 5070)


def test_the_setting_takes_only_its_three_values():
    assert Settings(sip_nat="force").sip_nat == "force"
    with pytest.raises(ValueError, match="RESTCOMM_SIP_NAT must be auto, force or off"):
        Settings(sip_nat="yes")

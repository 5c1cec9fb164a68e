"""The fetch policy (rcml/fetch_policy.py): its default, its exceptions, and HttpClient applying it to what a name
resolves to."""

from __future__ import annotations

import pytest

from rcml.fetch_policy import FetchPolicy, parse_networks
from rcml.http import HttpClient, HttpRefused
from testkit.application import running_application


def test_the_default_refuses_link_local_and_metadata_addresses_and_allows_loopback() -> None:
    policy = FetchPolicy()
    for address in ("169.254.169.254", "169.254.0.1", "fe80::1", "fe80::1%eth0", "100.100.100.200",
                    "fd00:ec2::254", "::ffff:169.254.169.254"):
        assert not policy.permits(address), address
    for address in ("127.0.0.1", "::1", "10.0.0.1", "192.168.1.1", "8.8.8.8"):
        assert policy.permits(address), address


def test_an_operator_closes_private_ranges_and_allows_exceptions() -> None:
    policy = FetchPolicy.parse("10.0.0.0/8, 172.16.0.0/12 192.168.0.0/16,127.0.0.0/8", "10.1.2.3")
    assert not policy.permits("10.9.9.9") and not policy.permits("172.20.0.1") and not policy.permits("127.0.0.1")
    assert policy.permits("10.1.2.3") and policy.permits("8.8.8.8")
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33' is not an IP network"):
        parse_networks("10.0.0.0/33")


async def test_a_name_that_resolves_to_a_denied_address_is_refused() -> None:
    async with running_application() as app:
        app.on("/rcml", "<Response/>")
        port = app.base_url.rsplit(":", 1)[1]
        async with HttpClient(policy=FetchPolicy.parse("127.0.0.0/8,::1/128")) as refusing:
            with pytest.raises(HttpRefused, match=r"localhost .* fetch policy"):
                await refusing.request("GET", f"http://localhost:{port}/rcml")
            with pytest.raises(HttpRefused):
                await refusing.request("GET", f"http://127.0.0.1:{port}/rcml")
        async with HttpClient(policy=FetchPolicy()) as default:
            assert (await default.request("GET", f"http://localhost:{port}/rcml")).status == 200
        assert len(app.requests_to("/rcml")) == 1

"""sip/flood.py: the per-source bucket of new dialogs, and whom a relayed INVITE counts against."""

from __future__ import annotations

from sip.flood import InviteRate, source_key


def test_a_source_gets_its_burst_then_its_rate_and_others_are_not_affected() -> None:
    now = [0.0]
    bucket = InviteRate(5, 10, clock=lambda: now[0])
    assert [bucket.admit("198.51.100.7") for _ in range(10)] == [None] * 10
    assert bucket.admit("198.51.100.7") == 1  # Retry-After: a token is 0.2 s away, said in whole seconds
    assert bucket.admit("203.0.113.9") is None  # another caller has its own bucket
    now[0] += 1.0
    assert [bucket.admit("198.51.100.7") for _ in range(5)] == [None] * 5
    assert bucket.admit("198.51.100.7") is not None
    assert InviteRate(0).admit("198.51.100.7") is None  # 0: no limit


def test_memory_stays_bounded_under_spoofed_sources() -> None:
    now = [0.0]
    bucket = InviteRate(5, 10, clock=lambda: now[0], max_keys=100)
    for n in range(1000):
        now[0] += 0.001
        bucket.admit(f"10.0.{n // 256}.{n % 256}")
    assert len(bucket._buckets) <= 101


def test_a_trusted_proxy_is_keyed_by_the_caller_it_relays_for() -> None:
    proxies = frozenset({"10.0.0.5"})
    assert source_key(("198.51.100.7", 5060)) == "198.51.100.7"
    assert source_key(("198.51.100.7", 5999)) == "198.51.100.7"  # the port does not matter
    assert source_key(("10.0.0.5", 5060), "198.51.100.7", trusted_proxies=proxies) == "198.51.100.7"
    assert source_key(("10.0.0.5", 5060), None, trusted_proxies=proxies) == ""  # exempt: the proxy limits
    assert InviteRate(1, 1).admit("") is None

"""The RTP port pool: even ports, skipping ports other sockets hold, round-robin reuse, a clear error when empty."""

from __future__ import annotations

import socket

import pytest

from sip.media.ports import PortPool, PortPoolExhausted
from tests.media.peers import free_udp_port


def pool_range(size: int) -> tuple[int, int]:
    """`size` even ports that are free right now (a stretch of the ephemeral range nobody holds)."""
    while True:
        first = free_udp_port(pair=True)
        last = first + 2 * (size - 1)
        if last > 65535:
            continue
        probes = []
        try:
            for port in range(first, last + 1, 2):
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
            return first, last
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()


def test_even_ports_held_until_released() -> None:
    pool = PortPool(*pool_range(3))
    sockets = [pool.bind("127.0.0.1") for _ in range(3)]
    ports = [s.getsockname()[1] for s in sockets]
    assert ports == [pool.first, pool.first + 2, pool.first + 4]
    assert pool.held == frozenset(ports)
    assert all(not s.getblocking() for s in sockets)
    with pytest.raises(PortPoolExhausted, match=rf"no free RTP port in {pool.first}-{pool.last} on 127.0.0.1: 3 held"):
        pool.bind("127.0.0.1")
    sockets[1].close()
    pool.release(ports[1])
    pool.release(ports[1])  # twice is harmless
    again = pool.bind("127.0.0.1")
    assert again.getsockname()[1] == ports[1]
    for s in [sockets[0], sockets[2], again]:
        s.close()


def test_ports_bound_by_others_are_skipped() -> None:
    first, last = pool_range(3)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", first))  # as if another process had it
        pool = PortPool(first, last)
        taken = [pool.bind("127.0.0.1") for _ in range(2)]
        assert [s.getsockname()[1] for s in taken] == [first + 2, first + 4]
        with pytest.raises(PortPoolExhausted, match="2 held by this pool, 1 in use by other sockets"):
            pool.bind("127.0.0.1")
        for s in taken:
            s.close()


def test_round_robin_delays_reuse_of_a_released_port() -> None:
    pool = PortPool(*pool_range(3))
    first = pool.bind("127.0.0.1")
    port = first.getsockname()[1]
    first.close()
    pool.release(port)
    following = pool.bind("127.0.0.1")
    assert following.getsockname()[1] == port + 2
    following.close()


def test_range_validation_and_bad_host() -> None:
    assert PortPool(16001, 16010).first == 16002
    assert PortPool(16000, 16999).size == 500
    with pytest.raises(ValueError, match="bad RTP port range"):
        PortPool(17000, 16000)
    with pytest.raises(OSError):
        PortPool(*pool_range(1)).bind("192.0.2.1")  # not an address of this machine

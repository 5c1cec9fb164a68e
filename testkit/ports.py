"""Free ports for the servers and SIP peers that tests and benchmarks start on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nobody holds right now: the kernel's pick for port 0."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_for_udp_and_tcp(attempts: int = 50) -> int:
    """A port P free for UDP and TCP alike, and P+1 free for TCP, for a SIP peer that listens on all three
    (baresip: SIP over UDP and TCP on P, over TLS on P+1).

    A UDP port the kernel hands out is often the source port of some TCP connection of the machine (both
    come from the ephemeral range): baresip then fails "tcp: sock_bind: Address already in use".
    """
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, \
                    socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tls:
                try:
                    tcp.bind(("127.0.0.1", port))
                    tls.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no port free for both UDP and TCP in {attempts} attempts")


def free_media_ports() -> int:
    """An even port P with P..P+3 free: sipp binds audio RTP/RTCP at P, P+1 and video at P+2, P+3."""
    for _ in range(200):
        base = free_port(socket.SOCK_DGRAM) & ~1
        probes: list[socket.socket] = []
        try:
            for port in range(base, base + 4):
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                probes.append(probe)
                probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
        return base
    raise RuntimeError("no four consecutive free UDP ports for sipp's media")


def udp_port_bound(port: int) -> bool:
    """Whether some socket is bound to UDP `port` (the kernel's socket tables, local address column).

    Reading the tables never races the peer for the port, as binding it to find out would.
    """
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if len(fields) > 1 and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    return True
    return False

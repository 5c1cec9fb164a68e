"""The RTP port pool: even UDP ports from a configured range, bound for the caller, released on close.

RTP takes the even port and leaves the odd one above it to RTCP (RFC 3550); this engine sends no RTCP, so the
odd port is simply never handed out. The pool hands out a bound socket rather than a number: binding is the
only reliable test that a port is free (another process may hold it), and handing the socket over leaves
no window in which someone else could take the port.
"""

from __future__ import annotations

import errno
import socket


class PortPoolExhausted(RuntimeError):
    """Every even port of the range is taken, by this pool or by other processes."""


class PortPool:
    """Even UDP ports in [first, last]. One pool per process (or per media address), shared by its endpoints.

    Allocation goes round-robin from where the last one stopped, so a port just released is reused as late
    as possible: stray packets of the call that held it are unlikely to reach the next call.
    """

    def __init__(self, first: int = 16000, last: int = 16999) -> None:
        first += first & 1  # round up to even
        if not 0 < first <= last <= 65535:
            raise ValueError(f"bad RTP port range {first}-{last}: need 0 < first <= last <= 65535, with an even port")
        self.first, self.last = first, last
        self._held: set[int] = set()
        self._next = first

    @property
    def size(self) -> int:
        """How many ports the range offers (even ones)."""
        return (self.last - self.first) // 2 + 1

    @property
    def held(self) -> frozenset[int]:
        return frozenset(self._held)

    def bind(self, host: str) -> socket.socket:
        """A non-blocking UDP socket bound to host:port for the next free even port; the port is held until
        release(port). Ports that another process has bound are skipped. Raises PortPoolExhausted."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        busy_elsewhere = 0
        for _ in range(self.size):
            port = self._next
            self._next = port + 2 if port + 2 <= self.last else self.first
            if port in self._held:
                continue
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                # No SO_REUSEADDR: on Linux it would let two UDP sockets share the port, hiding a conflict.
                sock.bind((host, port))
            except OSError as error:
                sock.close()
                if error.errno in (errno.EADDRINUSE, errno.EACCES):
                    busy_elsewhere += 1
                    continue
                raise  # a bad host address, for instance: no other port would do better
            sock.setblocking(False)
            self._held.add(port)
            return sock
        raise PortPoolExhausted(
            f"no free RTP port in {self.first}-{self.last} on {host}: {len(self._held)} held by this pool, "
            f"{busy_elsewhere} in use by other sockets")

    def release(self, port: int) -> None:
        """Returns a port to the pool (after its socket is closed); releasing twice is harmless."""
        self._held.discard(port)

"""A SIP peer played by hand over a raw UDP socket: for a sequence sipp can be made to meet every time, such as a
retransmission or a crossing request, which a real peer sends only now and then."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator


@contextlib.contextmanager
def udp_socket() -> Iterator[tuple[socket.socket, int]]:
    """A non-blocking UDP socket on 127.0.0.1, on a port the OS chose, for the loop's sock_* calls."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        yield peer, peer.getsockname()[1]


def sip_message(lines: list[str], body: str = "") -> bytes:
    """The start line and headers in `lines`, then the body's Content-Type (SDP) and Content-Length, and the body."""
    if body:
        lines = [*lines, "Content-Type: application/sdp"]
    lines = [*lines, f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

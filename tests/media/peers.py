"""Real peers for the media tests: a SIP responder of a few lines, so sipp (tests/support/sipp.py, with the
scenarios of this folder) can place a call without the project's SIP stack, and a bare RTP sink."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

from sip.media import rtp

SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def free_udp_port(*, pair: bool = False) -> int:
    """A free UDP port on 127.0.0.1; with `pair`, an even one whose port + 2 is free too (sipp's -mp takes
    both: audio and video)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            if not pair:
                return port
            if port % 2 or port + 2 > 65535:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                try:
                    other.bind(("127.0.0.1", port + 2))
                except OSError:
                    continue
            return port


class SipResponder(asyncio.DatagramProtocol):
    """Answers every INVITE with 200 OK whose SDP points at `media` (PCMU and telephone-event 101), and BYE
    with 200 OK. Just enough of a UAS for sipp's scenario; ACKs are ignored, retransmissions re-answered."""

    def __init__(self, media: tuple[str, int]) -> None:
        self.media = media
        self.ended = asyncio.Event()
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)  # asyncio's own is not a subclass

    @property
    def port(self) -> int:
        assert self._transport is not None
        return self._transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        text = data.decode("utf-8", "replace")
        method = text.split(" ", 1)[0]
        if method == "INVITE":
            host, port = self.media
            sdp = (f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
                   f"m=audio {port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
                   f"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n")
            self._answer(text, addr, sdp)
        elif method == "BYE":
            self._answer(text, addr, "")
            self.ended.set()

    def _answer(self, request: str, addr: tuple, sdp: str) -> None:
        assert self._transport is not None
        head = request.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
        copied = []
        for line in head:
            name = line.split(":", 1)[0].strip().lower()
            if name in ("via", "from", "call-id", "cseq"):
                copied.append(line)
            elif name == "to":
                copied.append(line if ";tag=" in line else line + ";tag=media-test")
        lines = ["SIP/2.0 200 OK", *copied, f"Contact: <sip:responder@127.0.0.1:{self.port}>"]
        if sdp:
            lines.append("Content-Type: application/sdp")
        lines += [f"Content-Length: {len(sdp)}", "", sdp]
        self._transport.sendto("\r\n".join(lines).encode(), addr)


class PacketSink(asyncio.DatagramProtocol):
    """A bare UDP peer on 127.0.0.1: records what arrives (when, on the loop's clock or the one given, and the
    parsed RTP) and can send raw datagrams."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, rtp.RtpPacket]] = []
        self.transport: asyncio.DatagramTransport | None = None
        self.clock: Callable[[], float] | None = None  # None: the loop's time

    @classmethod
    async def open(cls, clock: Callable[[], float] | None = None) -> PacketSink:
        loop = asyncio.get_running_loop()
        _, sink = await loop.create_datagram_endpoint(cls, local_addr=("127.0.0.1", 0))
        if clock is not None:
            sink.clock = clock
        return sink

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        packet = rtp.parse(data)
        if packet is not None:
            self.arrivals.append(((self.clock or asyncio.get_running_loop().time)(), packet))

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]

    @property
    def packets(self) -> list[rtp.RtpPacket]:
        return [packet for _, packet in self.arrivals]

    def send(self, data: bytes, address: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(data, address)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def until(condition, timeout_s: float = 3.0) -> None:
    """Waits for `condition()` to hold, polling every 5 ms; fails after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"still not true after {timeout_s} s: {condition}")
        await asyncio.sleep(0.005)

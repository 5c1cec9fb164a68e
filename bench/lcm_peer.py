"""The far ends of the live-call-modification benchmark (bench/lcm.py), in a process of their own.

    python -m bench.lcm_peer

- **SIP phones** (UDP, one socket): an INVITE to `sip:answer@...` gets 180 and then 200 OK with SDP (kept
  retransmitted until the ACK); one to `sip:ring@...` gets 180 and rings until the server gives up. BYE and
  CANCEL are answered 200 (a CANCEL also ends its INVITE with 487, kept retransmitted until the ACK).
- **The customer's RCML application** (HTTP/1.1, keep-alive): every request gets
  `<Response><Pause length="600"/></Response>`.

Every event goes to stdout as one JSON line, with times in `time.monotonic_ns()` (one clock for every
process of this machine), e.g. `{"e": "bye", "sid": "CA...", "t": ..., "u": ...}`:

- `t` of a SIP message is the kernel's receive timestamp (SO_TIMESTAMPNS, taken when the datagram reached
  the socket, converted from the wall clock to the monotonic one), so that this process's own scheduling
  delay is not counted; `u` is when this process read it, for comparison.
- `t` of an HTTP request is when its first bytes were handed to this process (asyncio `data_received`).

The first line is `{"e": "ready", "sip": PORT, "http": PORT}`. Unknown or malformed input is counted in
the `stats` line written when stdin reaches its end or on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

# Linux: SO_TIMESTAMPNS (and SCM_TIMESTAMPNS, the control message it produces); not in Python's socket module.
SO_TIMESTAMPNS = 35
PAUSE = b'<Response><Pause length="600"/></Response>'
HTTP_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: "
                 + str(len(PAUSE)).encode() + b"\r\n\r\n" + PAUSE)
T1_S = 0.5  # RFC 3261 timer T1: first retransmission of a final response to INVITE
T2_S = 4.0
RETRANSMIT_FOR_S = 32.0  # 64 x T1
COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length"}


def now_ns() -> int:
    return time.monotonic_ns()


def emit(event: dict) -> None:
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")
    sys.stdout.flush()


# --- SIP ----------------------------------------------------------------------------------------------------

@dataclass
class Message:
    first_line: str
    headers: list[tuple[str, str]]  # (lower-case full name, value), in order
    body: str

    @classmethod
    def parse(cls, data: bytes) -> Message:
        text = data.decode("utf-8", "replace")
        head, _, body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise ValueError(f"bad header line {line!r}")
            name = name.strip().lower()
            headers.append((COMPACT.get(name, name), value.strip()))
        return cls(lines[0], headers, body)

    def get(self, name: str) -> str:
        for key, value in self.headers:
            if key == name:
                return value
        return ""

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def method(self) -> str:
        return self.first_line.split(" ", 1)[0]

    @property
    def user(self) -> str:
        """The user part of the Request-URI (`answer`, `ring`)."""
        uri = self.first_line.split(" ")[1]
        return uri.split(":", 1)[1].split("@", 1)[0] if "@" in uri else ""


@dataclass
class Dialog:
    call_id: str
    sid: str
    user: str
    invite: Message
    to_tag: str
    address: tuple[str, int]
    final: bytes = b""  # the final response to the INVITE, retransmitted until the ACK
    acked: bool = False
    ended: bool = False
    retransmit: asyncio.TimerHandle | None = None


@dataclass
class Phones:
    sock: socket.socket
    media_port: int
    dialogs: dict[str, Dialog] = field(default_factory=dict)
    tags: itertools.count = field(default_factory=lambda: itertools.count(1))
    stats: dict[str, int] = field(default_factory=lambda: {"sip_in": 0, "sip_bad": 0, "retransmitted": 0})

    @property
    def contact_host(self) -> str:
        host, port = self.sock.getsockname()
        return f"{host}:{port}"

    def on_readable(self) -> None:
        # Drain what is queued: one wake-up may cover several datagrams.
        while True:
            try:
                data, ancillary, _flags, address = self.sock.recvmsg(65535, socket.CMSG_SPACE(16))
            except (BlockingIOError, InterruptedError):
                return
            user_ns = now_ns()
            kernel_ns = user_ns
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= 16:
                    seconds, nanoseconds = struct.unpack("qq", payload[:16])
                    # Wall clock -> monotonic: the offset between the two, read now, is exact to ~0.1 us.
                    kernel_ns = seconds * 1_000_000_000 + nanoseconds - (time.time_ns() - time.monotonic_ns())
            self.stats["sip_in"] += 1
            try:
                self.handle(Message.parse(data), address, kernel_ns, user_ns)
            except (ValueError, IndexError) as exc:
                self.stats["sip_bad"] += 1
                emit({"e": "error", "what": f"SIP message not understood: {exc!r}"})

    def handle(self, message: Message, address: tuple[str, int], t: int, u: int) -> None:
        if message.first_line.startswith("SIP/2.0"):
            return  # responses to our requests: we send none
        method = message.method
        call_id = message.get("call-id")
        dialog = self.dialogs.get(call_id)
        if method == "INVITE":
            if dialog is None:
                self.new_call(message, address, t, u)
            elif dialog.final:
                self.send(dialog.final, dialog.address)  # the INVITE again: our answer was lost or late
            else:
                self.send(self.response(message, 180, "Ringing", dialog.to_tag), address)
        elif method == "ACK":
            if dialog is not None and not dialog.acked:
                dialog.acked = True
                if dialog.retransmit is not None:
                    dialog.retransmit.cancel()
                emit({"e": "ack", "sid": dialog.sid, "t": t, "u": u})
        elif method in ("BYE", "CANCEL"):
            to_tag = dialog.to_tag if dialog is not None else self.new_tag()
            self.send(self.response(message, 200, "OK", to_tag), address)
            if dialog is None:
                emit({"e": "error", "what": f"{method} for an unknown call {call_id}"})
                return
            first = not dialog.ended
            dialog.ended = True
            if first:
                emit({"e": method.lower(), "sid": dialog.sid, "t": t, "u": u, "user": dialog.user})
            if method == "CANCEL" and not dialog.final:
                dialog.final = self.response(dialog.invite, 487, "Request Terminated", dialog.to_tag)
                self.send_final(dialog)
        else:
            self.send(self.response(message, 200, "OK", dialog.to_tag if dialog else self.new_tag()), address)

    def new_call(self, invite: Message, address: tuple[str, int], t: int, u: int) -> None:
        dialog = Dialog(invite.get("call-id"), invite.get("x-restcomm-callsid"), invite.user, invite,
                        self.new_tag(), address)
        self.dialogs[dialog.call_id] = dialog
        emit({"e": "invite", "sid": dialog.sid, "user": dialog.user, "t": t, "u": u})
        self.send(self.response(invite, 180, "Ringing", dialog.to_tag), address)
        if dialog.user == "answer":
            sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                   f"m=audio {self.media_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
                   "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n")
            dialog.final = self.response(invite, 200, "OK", dialog.to_tag, sdp)
            self.send_final(dialog)
        elif dialog.user != "ring":
            dialog.final = self.response(invite, 404, "Not Found", dialog.to_tag)
            self.send_final(dialog)

    def send_final(self, dialog: Dialog) -> None:
        """Sends the final response to the INVITE, then again at T1, 2 T1, ... (at most T2 apart) until the ACK."""
        self.send(dialog.final, dialog.address)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRANSMIT_FOR_S

        def again(interval: float) -> None:
            if dialog.acked or loop.time() > deadline:
                return
            self.stats["retransmitted"] += 1
            self.send(dialog.final, dialog.address)
            dialog.retransmit = loop.call_later(interval, again, min(2 * interval, T2_S))

        dialog.retransmit = loop.call_later(T1_S, again, 2 * T1_S)

    def response(self, request: Message, code: int, reason: str, to_tag: str, sdp: str = "") -> bytes:
        to = request.get("to")
        if ";tag=" not in to.lower():
            to = f"{to};tag={to_tag}"
        lines = [f"SIP/2.0 {code} {reason}"]
        lines += [f"Via: {via}" for via in request.all("via")]
        if 100 < code < 300 and request.method == "INVITE":
            lines += [f"Record-Route: {route}" for route in request.all("record-route")]
        lines += [f"From: {request.get('from')}", f"To: {to}", f"Call-ID: {request.get('call-id')}",
                  f"CSeq: {request.get('cseq')}"]
        if 100 < code < 300 and request.method == "INVITE":
            lines.append(f"Contact: <sip:{request.user or 'bench'}@{self.contact_host}>")
        if sdp:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(sdp.encode())}")
        return ("\r\n".join(lines) + "\r\n\r\n" + sdp).encode()

    def new_tag(self) -> str:
        return f"lcm{next(self.tags)}"

    def send(self, data: bytes, address: tuple[str, int]) -> None:
        with contextlib.suppress(BlockingIOError, ConnectionRefusedError):
            self.sock.sendto(data, address)


# --- the RCML application -------------------------------------------------------------------------------------

class Application(asyncio.Protocol):
    """Minimal HTTP/1.1: Content-Length bodies, keep-alive, pipelining; every answer is the Pause document."""

    stats: dict[str, int] = {"http_requests": 0, "http_bad": 0}  # one Application per connection, one count per process

    def __init__(self) -> None:
        self.buffer = b""
        self.started_ns = 0  # when the first bytes of the request in `buffer` arrived
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if not self.buffer:
            self.started_ns = now_ns()
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip() or 0)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4:end + 4 + length].decode("utf-8", "replace")
            self.buffer = self.buffer[end + 4 + length:]
            request_line = head.split("\r\n", 1)[0].split(" ")
            if len(request_line) < 3:
                Application.stats["http_bad"] += 1
                assert self.transport is not None
                self.transport.close()
                return
            Application.stats["http_requests"] += 1
            path = request_line[1].split("?", 1)[0]
            sid = (parse_qs(body).get("CallSid") or parse_qs(request_line[1].partition("?")[2]).get("CallSid")
                   or [""])[0]
            emit({"e": "fetch", "path": path, "sid": sid, "t": self.started_ns, "u": now_ns()})
            assert self.transport is not None
            self.transport.write(HTTP_RESPONSE)
            self.started_ns = now_ns()  # a pipelined request already in the buffer arrived no later than now


# --- main -------------------------------------------------------------------------------------------------------

async def main_async() -> None:
    loop = asyncio.get_running_loop()
    sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sip.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sip.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sip.bind(("127.0.0.1", 0))
    sip.setblocking(False)
    # Where the server sends RTP: bound (so no ICMP errors go back) and never read (the kernel drops the overflow).
    media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    media.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    media.bind(("127.0.0.1", 0))
    phones = Phones(sip, media.getsockname()[1])
    loop.add_reader(sip.fileno(), phones.on_readable)
    server = await loop.create_server(Application, "127.0.0.1", 0)
    http_port = server.sockets[0].getsockname()[1]
    emit({"e": "ready", "sip": sip.getsockname()[1], "http": http_port, "pid": os.getpid()})

    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    # The benchmark closes our stdin when it is done (or dies): stop then too.
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    eof = asyncio.ensure_future(reader.read())
    waiter = asyncio.ensure_future(stop.wait())
    await asyncio.wait([eof, waiter], return_when=asyncio.FIRST_COMPLETED)
    emit({"e": "stats", **phones.stats, **Application.stats, "dialogs": len(phones.dialogs)})
    server.close()
    loop.remove_reader(sip.fileno())
    sip.close()
    media.close()


def main() -> int:
    try:
        import uvloop
    except ImportError:
        asyncio.run(main_async())
    else:
        uvloop.run(main_async())
    return 0


if __name__ == "__main__":
    sys.exit(main())

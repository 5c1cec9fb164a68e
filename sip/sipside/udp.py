"""sippy's UDP transport, sending from the SIP thread itself whenever that cannot reorder datagrams.

sippy hands every datagram to a sender thread through a queue: a condition notify, a switch to that thread
and back (the GIL changes hands each time) and a getaddrinfo() per datagram. With 4-5 datagrams sent per
call, that was about a tenth of the SIP layer's CPU per call. A datagram to a numeric address now goes out
at once, with a non-blocking sendto(), in the order the SIP thread produced it.

The sender thread still takes what cannot go at once (a host name to resolve, a full socket buffer), and
everything after it until it has sent all it took, so no datagram ever overtakes a queued one.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import struct
import threading
from collections.abc import Callable
from queue import Queue
from typing import Any

from sippy.Udp_server import Udp_server

_RETRY_LATER = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS})
# What an ICMP error about an earlier datagram surfaces as, on the next send or receive of the socket.
_ICMP_ERRORS = frozenset({errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN})
# Linux's IP_RECVERR (not in Python's socket module): ICMP errors of an unconnected socket are queued, with
# the address of the datagram that caused them, instead of being dropped.
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
# struct sock_extended_err: ee_errno, ee_origin, ee_type, ee_code, ee_pad, ee_info, ee_data.
_EXTENDED_ERR = struct.Struct("=IBBBBII")
# Told (address, errno) of every destination the kernel reported unreachable; called from sippy's threads.
Unreachable = Callable[[tuple[str, int], int], None]


class _ErrorQueueSocket:
    """The SIP socket with IP_RECVERR: reads the ICMP errors it queues and reports their destinations.

    A queued error also makes the socket's next recvfrom() or sendto() fail, whatever that call's own
    datagram: both drain the queue (which clears it) and try again, so no datagram is lost for another's
    error and sippy's threads never see one.
    """

    def __init__(self, raw: socket.socket) -> None:
        self.raw = raw
        self.unreachable: Unreachable | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)

    def recvfrom(self, size: int) -> Any:
        while True:
            try:
                return self.raw.recvfrom(size)
            except OSError as exc:
                if exc.errno not in _ICMP_ERRORS:
                    raise
                self.drain_errors()

    def sendto(self, data: bytes, *args: Any) -> int:
        try:
            return self.raw.sendto(data, *args)
        except OSError as exc:
            if exc.errno not in _ICMP_ERRORS:
                raise
            self.drain_errors()
            return self.raw.sendto(data, *args)

    def drain_errors(self) -> None:
        while True:
            try:
                _, ancillary, _, address = self.raw.recvmsg(1, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            except OSError:  # BlockingIOError: the queue is empty
                return
            code = errno.ECONNREFUSED
            for level, kind, data in ancillary:
                if level == socket.IPPROTO_IP and kind == IP_RECVERR and len(data) >= _EXTENDED_ERR.size:
                    code = _EXTENDED_ERR.unpack_from(data)[0]
            report = self.unreachable
            if report is not None and isinstance(address, tuple):
                report((address[0], int(address[1])), code)


class _TrackedQueue(Queue):
    """The send queue, counting what the sender thread has not finished with.

    sippy's sender loops on get(): it comes back for the next datagram only once it has sent (or given up
    on) the one it took, so each get() after the first finishes one datagram.
    """

    def __init__(self) -> None:
        super().__init__()
        self.unsent = 0
        self._count_lock = threading.Lock()
        self._holding = threading.local()

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is not None:
            with self._count_lock:
                self.unsent += 1
        super().put(item, block, timeout)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if getattr(self._holding, "item", False):
            self._holding.item = False
            with self._count_lock:
                self.unsent -= 1
        item = super().get(block, timeout)
        self._holding.item = item is not None
        return item


class DirectUdpServer(Udp_server):
    # sippy's constructor creates the socket (`self.skt = socket.socket(...)`) and starts the receiver, which
    # reads `self.skt` anew for every datagram: the socket is wrapped the moment it is made.
    @property
    def skt(self) -> Any:
        return self._skt

    @skt.setter
    def skt(self, raw: socket.socket) -> None:
        # Not Linux, or not IPv4: ICMP errors stay unseen, and Timer B ends such requests.
        with contextlib.suppress(OSError):
            raw.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        self._skt = _ErrorQueueSocket(raw)

    # sippy's Network_server assigns `sendqueue` in its constructor, before the sender thread starts.
    @property
    def sendqueue(self) -> _TrackedQueue:
        return self._sendqueue

    @sendqueue.setter
    def sendqueue(self, _queue: Queue) -> None:
        self._sendqueue = _TrackedQueue()

    def send_to(self, data: bytes | str, address: Any, delayed: bool = False) -> None:
        uopts = self.uopts
        if (
            self._sendqueue.unsent
            or uopts.family != socket.AF_INET
            or uopts.ploss_out_rate > 0.0
            or uopts.pdelay_out_max > 0.0
            or not isinstance(address, tuple)
            or not _is_ipv4(address[0])
        ):
            super().send_to(data, address, delayed)
            return
        if not isinstance(data, bytes):
            data = data.encode("utf-8")
        try:
            self._skt.sendto(data, socket.MSG_DONTWAIT, address)
        except TypeError:
            super().send_to(data, address, delayed)  # an address sendto() cannot take as it is: sippy's way
        except OSError as exc:
            if exc.errno in _RETRY_LATER:
                super().send_to(data, address, delayed)  # the sender thread retries, as sippy always did
            # Anything else (unreachable, refused) is dropped, as sippy's sender drops it: SIP retransmits.


def _is_ipv4(host: Any) -> bool:
    try:
        socket.inet_pton(socket.AF_INET, host)
    except (OSError, TypeError):
        return False
    return True

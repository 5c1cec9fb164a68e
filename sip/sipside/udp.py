"""sippy's UDP transport, sending from the SIP thread itself whenever that cannot reorder datagrams.

sippy hands every datagram to a sender thread through a queue: a condition notify, a switch to that thread
and back (the GIL changes hands each time) and a getaddrinfo() per datagram. With 4-5 datagrams sent per
call, that was about a tenth of the SIP layer's CPU per call. A datagram to a numeric address now goes out
at once, with a non-blocking sendto(), in the order the SIP thread produced it.

The sender thread still takes what cannot go at once (a host name to resolve, a full socket buffer), and
everything after it until it has sent all it took, so no datagram ever overtakes a queued one.
"""

from __future__ import annotations

import errno
import socket
import threading
from queue import Queue
from typing import Any

from sippy.Udp_server import Udp_server

_RETRY_LATER = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS})


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
            self.skt.sendto(data, socket.MSG_DONTWAIT, address)
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

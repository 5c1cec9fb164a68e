"""sippy's transaction manager with configurable Timers B/F and H and a look at its send queue (SIP thread only)."""

from __future__ import annotations

import time
from typing import Any

from sippy.SipTransactionManager import RINGING, TRYING, SipTransactionManager
from sippy.Time.Timeout import Timeout
from sippy.Udp_server import Udp_server_opts

from sip.sipside.udp import DirectUdpServer

# RFC 3261 Timer B and F: 64 * T1. sippy hard-codes it.
RFC_TIMER_B = 32.0
# How long a final response to an INVITE is retransmitted while its ACK is awaited: Timer H, and 64 * T1 for a 2xx
# too (section 13.3.1.4). sippy hard-codes it (its Timer D); a 2xx never ACKed then ends the call with a BYE.
RFC_TIMER_H = 32.0
# Headers a request carries once (RFC 3261 section 7.3.1 and 20), with their compact forms. Two of them are a
# malformed request (400): sippy keeps only the last Content-Length and Content-Type, so two parts of a path
# could read one message two ways (request smuggling through a proxy).
_SINGLE = {"to": "to", "t": "to", "from": "from", "f": "from", "call-id": "call-id", "i": "call-id",
           "cseq": "cseq", "content-length": "content-length", "l": "content-length",
           "content-type": "content-type", "c": "content-type", "max-forwards": "max-forwards"}


def repeated_single_header(datagram: bytes | str) -> str | None:
    """The first header of _SINGLE that the message's header section has twice, or None."""
    text = datagram.decode(errors="replace") if isinstance(datagram, bytes) else datagram
    head = text.split("\r\n\r\n", 1)[0].split("\n\n", 1)[0]
    seen: set[str] = set()
    for line in head.splitlines()[1:]:
        if not line or line[0] in " \t" or ":" not in line:
            continue  # a folded continuation, or not a header
        name = _SINGLE.get(line.split(":", 1)[0].strip().lower())
        if name is not None:
            if name in seen:
                return name
            seen.add(name)
    return None


class TransactionManager(SipTransactionManager):
    # Datagrams leave from the SIP thread itself when they can (see sip.sipside.udp).
    model_udp_server = (DirectUdpServer, Udp_server_opts)

    def __init__(self, config: dict[str, Any], request_cb: Any, *, timer_b: float = RFC_TIMER_B,
                 timer_h: float = RFC_TIMER_H) -> None:
        self.timer_b = timer_b
        self.timer_h = timer_h
        super().__init__(config, request_cb)

    # Set while a datagram is handled (in the SIP thread): a header it repeats that it must carry once.
    repeated_header: str | None = None

    def handleIncoming(self, data_in: Any, ra: Any, server: Any, rtime: Any) -> Any:
        self.repeated_header = repeated_single_header(data_in)
        try:
            return super().handleIncoming(data_in, ra, server, rtime)
        finally:
            self.repeated_header = None

    def newTransaction(self, msg: Any, *args: Any, **kwargs: Any) -> Any:
        t = super().newTransaction(msg, *args, **kwargs)
        if self.timer_b != RFC_TIMER_B and t.teB is not None:
            # A request nobody answers fails with a synthesized 408 after timer_b instead of 32 s.
            t.teB.cancel()
            t.teB = Timeout(self.timerB, self.timer_b, 1, t)
        return t

    def sendResponse(self, resp: Any, t: Any = None, retrans: bool = False, ack_cb: Any = None,
                     lossemul: int = 0) -> None:
        if t is None:
            t = self.tserver[resp.getTId(wBRN=True)]  # as sippy finds it; the UA's responses come without it
        awaiting = t.teD
        super().sendResponse(resp, t, retrans, ack_cb, lossemul)
        if self.timer_h != RFC_TIMER_H and t.teD is not None and t.teD is not awaiting:
            # The final response waits for its ACK timer_h instead of 32 s.
            t.teD.cancel()
            t.teD = Timeout(self.timerD, self.timer_h, 1, t)

    def incomingResponse(self, msg: Any, t: Any, checksum: Any) -> None:
        """ACKs a digest challenge to our INVITE before the UA retries it.

        sippy hands a final response to the UA first and ACKs it afterwards, so the retried INVITE (with
        credentials) goes out before the ACK of the 401/407; strict peers such as sipp reject that order.
        """
        challenged = t.method == "INVITE" and msg.getSCode()[0] in (401, 407) and t.state in (TRYING, RINGING)
        if not challenged or t.resp_cb is None:
            super().incomingResponse(msg, t, checksum)
            return
        callback, version = t.resp_cb, t.cb_ifver
        t.resp_cb = None
        super().incomingResponse(msg, t, checksum)  # sends the ACK and closes the transaction
        if version == 1:
            callback(msg)
        else:
            callback(msg, t)

    @property
    def local_address(self) -> tuple[str, int]:
        server = next(iter(self.l4r.cache_l2s.values()))
        host, port = server.uopts.laddress
        return host, int(port)

    def wait_sent(self, timeout_s: float) -> None:
        """Blocks (the SIP thread, while stopping) until the sender threads have sent every queued datagram."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(server.sendqueue.unsent == 0 for server in self.l4r.cache_l2s.values()):
                break
            time.sleep(0.002)

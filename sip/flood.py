"""How many new dialogs one source may start: a token bucket per source address, checked in the SIP thread before
an INVITE makes anything (no dialog, no call row, no application fetch, no RTP port).

Kamailio's `pike` module does the same in front of a cluster; this is the server's own floor for when nothing
is in front. A flood from one address then costs one 503 each, with Retry-After.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


def source_key(source: tuple[str, int], via_received: str | None = None, *,
               trusted_proxies: frozenset[str] = frozenset()) -> str:
    """The one function that says whom a request counts against: its source address (not the port: a flood
    changes ports at will). A request relayed by a trusted proxy (Kamailio in front of the nodes) counts
    against the address the proxy received it from, which the proxy's Via records (`received=`, or its sent-by
    host) below its own; without that, the proxy itself is exempt rather than limited for everyone."""
    host = source[0]
    if host in trusted_proxies:
        return via_received or ""  # "": not limited, the proxy limits (pike) in front
    return host


class InviteRate:
    """A token bucket per key: `burst` dialogs at once, refilled at `rate` per second. rate <= 0: no limit.

    Used from the SIP thread; the attributes may be changed from another thread (a test, a reload): each
    read is of a plain float."""

    def __init__(self, rate: float, burst: float | None = None, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000, trusted_proxies: frozenset[str] = frozenset()) -> None:
        self.rate = rate
        # Proxies (Kamailio) whose relayed INVITEs count against the caller they relay for (see source_key).
        self.trusted_proxies = trusted_proxies
        self.burst = burst if burst is not None else 2 * rate
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when last counted)
        self._max_keys = max_keys
        self._lock = threading.Lock()

    def admit(self, key: str) -> int | None:
        """None when `key` may start a dialog now (and counts it); otherwise the seconds to wait (Retry-After)."""
        rate, burst = self.rate, self.burst
        if rate <= 0 or not key:
            return None
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.get(key, (burst, now))
            tokens = min(burst, tokens + (now - then) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                self._prune(now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / rate))

    def _prune(self, now: float) -> None:
        """Forgets the sources whose bucket is full again: memory stays bounded under a spoofed-source flood."""
        if len(self._buckets) <= self._max_keys:
            return
        full_after = self.burst / self.rate
        self._buckets = {key: (tokens, then) for key, (tokens, then) in self._buckets.items()
                         if now - then < full_after}
        while len(self._buckets) > self._max_keys:  # all recent: forget the oldest
            self._buckets.pop(next(iter(self._buckets)))

"""Password guessing, throttled: HTTP Basic logins (handlers/auth.py) and REGISTER digests (calls/registrar.py).

Failures are counted per (source address, login) and per source address over a sliding window; past either
limit the source is refused for that login (HTTP 429 with Retry-After, SIP 403) without the password being
checked, until old failures leave the window. The rightful user, on another address, is never locked out by
someone else's guesses, as fail2ban-backed Asterisk setups and Kamailio's `pike`/`htable` bans work by source
too. A success clears that (source, login)'s failures.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

_MAX_KEYS = 50_000


class GuessThrottle:
    @classmethod
    def from_limit(cls, limit: int) -> GuessThrottle:
        """RESTCOMM_LOGIN_GUESS_LIMIT: `limit` failures per (source, login), six times that per source; 0: off."""
        return cls(per_login=limit, per_source=6 * limit)

    def __init__(self, *, per_login: int = 10, per_source: int = 60, window_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_login = per_login
        self.per_source = per_source
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def retry_after(self, source: str, login: str) -> int | None:
        """Seconds until `source` may try `login` again, or None when it may now."""
        if self.per_login == 0:  # turned off
            return None
        now = self._clock()
        waits = [self._wait((source, login), self.per_login, now), self._wait((source, ""), self.per_source, now)]
        blocked = [wait for wait in waits if wait is not None]
        return max(blocked) if blocked else None

    def failed(self, source: str, login: str) -> None:
        if self.per_login == 0:
            return
        now = self._clock()
        if len(self._failures) > _MAX_KEYS:
            self._prune(now)
        for key in ((source, login), (source, "")):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, source: str, login: str) -> None:
        self._failures.pop((source, login), None)

    def clear(self) -> None:
        self._failures.clear()

    def _wait(self, key: tuple[str, str], limit: int, now: float) -> int | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        if len(times) < limit:
            return None
        # Refused until enough failures have left the window to fall below the limit.
        return max(1, math.ceil(times[len(times) - limit] + self.window_s - now))

    def _prune(self, now: float) -> None:
        self._failures = {key: times for key, times in self._failures.items()
                          if times and now - times[-1] < self.window_s}

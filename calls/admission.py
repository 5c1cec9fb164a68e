"""Per-account admission of calls created through the API: the concurrency cap, and calls per second.

- Concurrency: an account with `max_concurrent_calls` live calls (queued, ringing or in progress, on any node:
  the database's per-status counters) cannot create another; the create answers 429 (code 20429). Refusing
  is what Twilio does, and it tells the application at once, where a call failing later would need a
  Notification to be noticed. Checked and inserted under a per-account lock, so two creates at once on this
  node cannot both take the last place.
- Rate: with `calls_per_second`, each call gets the next start slot of its account, 1/cps after the previous
  one; until its slot it stays `queued` (it is not refused). Slots are handed out as the creates arrive, so
  calls start in the order they were created, and each account has its own slots, so one account's backlog
  never delays another's. The pacing is per node: N nodes behind a dispatcher allow up to N times the rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from calls.types import CallLimits, TooManyCalls
from models.call_count import live_calls

# Accounts whose last slot is this far behind are forgotten, so the table stays as small as the active accounts.
_PRUNE_AT = 1000


class Admission:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._next_start: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def admit(self, account_sid: str, limits: CallLimits) -> AsyncIterator[None]:
        """Around the insert of a new call: raises TooManyCalls when the account is at its cap."""
        if limits.max_concurrent_calls is None:
            yield
            return
        # One lock per account that has a cap: as many as such accounts, no more.
        async with self._locks.setdefault(account_sid, asyncio.Lock()):
            if await live_calls(account_sid) >= limits.max_concurrent_calls:
                raise TooManyCalls(limits.max_concurrent_calls)
            yield

    def start_delay(self, account_sid: str, limits: CallLimits) -> float:
        """Seconds until the new call of `account_sid` may start (0 without a rate), taking its slot now."""
        if limits.calls_per_second is None:
            return 0.0
        now = self._clock()
        slot = max(now, self._next_start.get(account_sid, now))
        self._next_start[account_sid] = slot + 1.0 / limits.calls_per_second
        if len(self._next_start) > _PRUNE_AT:
            self._next_start = {sid: at for sid, at in self._next_start.items() if at > now}
        return slot - now

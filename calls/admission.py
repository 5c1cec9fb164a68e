"""Per-account admission of calls created through the API: the concurrency cap, and calls per second.

- Concurrency: an account with `max_concurrent_calls` live calls (queued, ringing or in progress, on any node:
  the database's per-status counters) cannot create another; the create answers 429 (code 20429). Refusing
  is what Twilio does, and it tells the application at once, where a call failing later would need a
  Notification to be noticed. Checked and inserted under a per-account lock, so two creates at once on this
  node cannot both take the last place.
- Rate: with `calls_per_second`, each created call takes a turn in its account's line; until its turn comes it
  stays `queued` (it is not refused). Turns are taken as the creates arrive, so calls start in the order they
  were created, and each account has its own line, so one account's backlog never delays another's. A turn
  comes 1/cps after the previous one actually came, not after the moment it was due: a turn that came late (a
  busy event loop, timers firing late) pushes the rest back instead of letting the next follow it closely, so
  no span of T seconds ever sees more than cps * T + 1 starts (what a carrier counting calls per second
  checks). A call withdrawn while it waits (canceled, hung up) gives its turn to the next. The pacing is per
  node: N nodes behind a dispatcher allow up to N times the rate.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

from calls.types import CallLimits, TooManyCalls
from models.call_count import live_calls

# Past this many accounts, those with nobody waiting and no recent start are forgotten, so the table stays as
# small as the accounts calling now.
_PRUNE_AT = 1000


class _Timer(Protocol):
    def cancel(self) -> None: ...


class Timers(Protocol):
    """What the pacing needs of an event loop (asyncio's loop is one; the tests give a clock they move)."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[[], None]) -> _Timer: ...


class StartTurn:
    """A call's place in its account's line of calls waiting to start."""

    def __init__(self, come: bool = False) -> None:
        self.come = come  # the call may start
        self.withdrawn = False
        self._start: Callable[[], None] | None = None

    def when_come(self, start: Callable[[], None]) -> None:
        """`start` is called when the turn comes, at once if it has already come."""
        if self.come:
            start()
        else:
            self._start = start

    def withdraw(self) -> None:
        """The call will not start (canceled, hung up, never created): the next in line moves up."""
        self.withdrawn = True
        self._start = None

    def _arrive(self) -> None:
        self.come = True
        start, self._start = self._start, None
        # A turn that comes before its call's owner asked (the insert still under way) starts it in when_come().
        if start is not None:
            start()


@dataclass
class _Line:
    interval: float
    last_start: float = float("-inf")  # when the latest turn came, on the timers' clock
    waiting: collections.deque[StartTurn] = field(default_factory=collections.deque)
    timer: _Timer | None = None  # armed exactly while `waiting` is not empty


class Admission:
    def __init__(self, timers: Timers | None = None) -> None:
        """`timers`: the running event loop's when None (the engine is built before the loop runs)."""
        self._timers = timers
        self._lines: dict[str, _Line] = {}
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

    def take_turn(self, account_sid: str, limits: CallLimits) -> StartTurn | None:
        """The new call's turn to start (None without a rate: it starts at once), taken now."""
        if limits.calls_per_second is None:
            return None
        timers = self._timers or asyncio.get_running_loop()
        now = timers.time()
        line = self._lines.get(account_sid)
        if line is None:
            if len(self._lines) >= _PRUNE_AT:
                self._prune(now)
            line = self._lines[account_sid] = _Line(1.0 / limits.calls_per_second)
        # The account's rate as it is now; a change applies from the next turn on.
        line.interval = 1.0 / limits.calls_per_second
        if line.timer is None and now >= line.last_start + line.interval:
            line.last_start = now
            return StartTurn(come=True)
        turn = StartTurn()
        line.waiting.append(turn)
        if line.timer is None:
            line.timer = timers.call_at(line.last_start + line.interval, lambda: self._next_turn(timers, line))
        return turn

    def _next_turn(self, timers: Timers, line: _Line) -> None:
        line.timer = None
        while line.waiting and line.waiting[0].withdrawn:
            line.waiting.popleft()
        if not line.waiting:
            return
        turn = line.waiting.popleft()
        # The time it actually came, however late the timer fired: the next turn is an interval after this.
        line.last_start = timers.time()
        if line.waiting:
            line.timer = timers.call_at(line.last_start + line.interval, lambda: self._next_turn(timers, line))
        turn._arrive()

    def _prune(self, now: float) -> None:
        self._lines = {sid: line for sid, line in self._lines.items()
                       if line.timer is not None or line.last_start + line.interval > now}

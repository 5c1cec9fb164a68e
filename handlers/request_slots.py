"""How many API requests each account has under way, against its `max_concurrent_requests`.

A slot is taken once the credentials are verified (handlers/auth.py), so only the account's own requests
count against it: someone who merely knows an account SID cannot use up its slots. The request's slots are
let go when its response has been sent, by restcomm/request_limits.py, which opens the holder every
request's slots are noted in (a context variable: the authentication runs in the request's task).
"""

from __future__ import annotations

import contextvars
from collections import Counter

from handlers.errors import too_many
from models import Account
from telemetry.metrics import METRICS

_held: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("request_slots", default=None)


class RequestSlots:
    def __init__(self) -> None:
        self._in_flight: Counter[str] = Counter()

    def begin(self) -> contextvars.Token:
        """A request starts: its slots are noted from here on."""
        return _held.set([])

    def end(self, token: contextvars.Token) -> None:
        """The request's response has gone: its slots are free again."""
        held = _held.get()
        _held.reset(token)
        for sid in held or ():
            self._in_flight[sid] -= 1
            if self._in_flight[sid] <= 0:
                del self._in_flight[sid]

    def take(self, account: Account) -> None:
        """A slot of `account` for the current request; 429 when all of them are in use."""
        held = _held.get()
        limit = account.max_concurrent_requests
        if held is None or account.sid in held:
            return  # outside a request (tests calling handlers), or this request has its slot already
        if limit is not None and self._in_flight[account.sid] >= limit:
            METRICS.limit_rejections.labels("concurrent_requests").inc()
            raise too_many(f"This account may have {limit} API request(s) under way at a time; try again")
        self._in_flight[account.sid] += 1
        held.append(account.sid)

    def in_flight(self, account_sid: str) -> int:
        return self._in_flight[account_sid]

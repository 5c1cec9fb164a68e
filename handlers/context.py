"""What a request handler needs from the running server: the call engine, the account cache, and whether
the node is draining (readiness answers 503 then).

The app factory (restcomm/app.py) builds one `HandlerContext` and a tiny middleware makes it current for each
request (a context variable, because request tasks do not inherit the lifespan task's context), so handlers
reach the engine without importing the wiring package and without module-level globals.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass, field

from calls.engine import CallEngine
from calls.guessing import GuessThrottle
from handlers.live_metrics import LiveGauges
from handlers.request_slots import RequestSlots
from models.directory import AccountDirectory


def _not_draining() -> bool:
    return False


@dataclass
class HandlerContext:
    engine: CallEngine
    accounts: AccountDirectory = field(default_factory=AccountDirectory)
    # Whether this node is draining: asked by GET /ready (503 while it is true). The app factory points it at
    # the engine's drain state (SIGTERM starts a drain).
    draining: Callable[[], bool] = _not_draining
    # GET /metrics wants `Authorization: Bearer <token>` when this is set (RESTCOMM_METRICS_TOKEN).
    metrics_token: str = ""
    live: LiveGauges = field(default_factory=LiveGauges)
    # API requests under way per account, against their max_concurrent_requests.
    requests: RequestSlots = field(default_factory=RequestSlots)
    # Failed HTTP Basic logins per source address (and login): 429 past their limit.
    guesses: GuessThrottle = field(default_factory=GuessThrottle)


_current: contextvars.ContextVar[HandlerContext] = contextvars.ContextVar("handler_context")


def current() -> HandlerContext:
    return _current.get()


def activate(context: HandlerContext) -> contextvars.Token:
    return _current.set(context)

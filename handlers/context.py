"""What a request handler needs from the running server: the call engine and the account cache.

The app factory (restcomm/app.py) builds one `HandlerContext` and a tiny middleware makes it current for each
request (a context variable, because request tasks do not inherit the lifespan task's context), so handlers
reach the engine without importing the wiring package and without module-level globals.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field

from calls.engine import CallEngine
from models.directory import AccountDirectory


@dataclass
class HandlerContext:
    engine: CallEngine
    accounts: AccountDirectory = field(default_factory=AccountDirectory)


_current: contextvars.ContextVar[HandlerContext] = contextvars.ContextVar("handler_context")


def current() -> HandlerContext:
    return _current.get()


def activate(context: HandlerContext) -> contextvars.Token:
    return _current.set(context)

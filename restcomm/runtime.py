"""What a request handler needs from the running server, reachable without module-level globals.

The app factory builds one `Runtime`; a tiny middleware makes it current for each request (a context
variable, because request tasks do not inherit the lifespan task's context).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field

from models.directory import AccountDirectory
from rcml.engine import CallEngine
from restcomm.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: CallEngine
    accounts: AccountDirectory = field(default_factory=AccountDirectory)


_current: contextvars.ContextVar[Runtime] = contextvars.ContextVar("restcomm_runtime")


def current() -> Runtime:
    return _current.get()


def activate(runtime: Runtime) -> contextvars.Token:
    return _current.set(runtime)

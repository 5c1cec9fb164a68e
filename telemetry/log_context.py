"""What a log line is about: the call, its account and the API request, carried by context variables.

A call's owner sets them once at the start of its task; asyncio copies the context into every task started
from there (the RCML session, a callback's delivery), so each line logged on the call's behalf carries its
CallSid without passing it around. The formatter (restcomm/logs.py) reads them.
"""

from __future__ import annotations

import contextvars

call_sid: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_sid", default=None)
account_sid: contextvars.ContextVar[str | None] = contextvars.ContextVar("account_sid", default=None)
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def bind_call(sid: str, account: str) -> None:
    """From here on (this task and the tasks it starts) log lines are about call `sid` of `account`."""
    call_sid.set(sid)
    account_sid.set(account)


def current() -> dict[str, str]:
    """The context of a line logged now: only what is set."""
    fields = {}
    for name, variable in (("call_sid", call_sid), ("account_sid", account_sid), ("request_id", request_id)):
        value = variable.get()
        if value is not None:
            fields[name] = value
    return fields

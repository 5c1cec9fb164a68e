"""One log line per thing that happens to a call, at info level, for the operator reading the log.

`event("call.answered", setup_ms=412)` logs on the `restcomm.call` logger with the event's name and fields as
the record's `event` and `fields`: the JSON format (restcomm/logs.py) gives them keys of their own, the text
format writes `call.answered setup_ms=412`. The call, its account and the node come from the log context
(telemetry/log_context.py), or from `call_sid=`/`account_sid=` given here where the call's own task has not
started yet. Nothing is formatted when info is off.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("restcomm.call")


def event(name: str, *, call_sid: str | None = None, account_sid: str | None = None, **fields: Any) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    # `from_=` for a field named "from", which Python cannot take as a keyword.
    extra: dict[str, Any] = {"event": name, "fields": {key.rstrip("_"): value for key, value in fields.items()}}
    if call_sid is not None:
        extra["call_sid"] = call_sid
    if account_sid is not None:
        extra["account_sid"] = account_sid
    log.info(name, extra=extra)

"""Everything sippy writes, routed to Python logging at DEBUG instead of stdout and stderr.

sippy has three outlets: the `_sip_logger` object the transaction manager writes every message to (given
in its config: `MessageLog`), `dump_exception`, which prints tracebacks to the stdout of import time, and
plain `print()` calls scattered through its modules. The last two are redirected here, process-wide, which is
fine because only this package uses sippy.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any

from sip.wire import WireTap
from telemetry.metrics import METRICS, sip_method_label

logger = logging.getLogger("sip")
# Every SIP message sent and received, as text; tests read it to check what went on the wire.
wire_logger = logging.getLogger("sip.wire")


class MessageLog:
    """The `_sip_logger` of sippy's configuration: sippy calls it with every datagram it receives or sends,
    which makes it the one place that sees all SIP traffic, counted here by method and response class and
    captured for the calls' stored SIP messages (sip/wire.py)."""

    def __init__(self, tap: WireTap | None = None) -> None:
        self._tap = tap

    def write(self, *parts: Any, **_: Any) -> None:
        if len(parts) == 2:
            prefix = str(parts[0])
            _count(prefix, parts[1])
            if self._tap is not None and not prefix.startswith("DISCARDING"):
                self._tap.capture(time.time(), prefix, parts[1])
        if wire_logger.isEnabledFor(logging.DEBUG):
            wire_logger.debug("%s", "".join(str(part) for part in parts))


def _count(prefix: str, message: Any) -> None:
    """`prefix` is sippy's "RECEIVED message from ..." or "SENDING message to ..."; `message` the datagram."""
    if prefix.startswith("RECEIVED"):
        direction = "in"
    elif prefix.startswith("SENDING"):
        direction = "out"
    else:
        return  # "DISCARDING": sippy's loss emulation, not on the wire
    text = message if isinstance(message, str) else bytes(message).decode("latin-1", errors="replace")
    first = text[:64].split(" ", 2)
    if first[0] == "SIP/2.0" and len(first) > 1 and first[1][:1] in "123456":
        METRICS.sip_responses.labels(direction, f"{first[1][:1]}xx").inc()
    elif first[0]:
        METRICS.sip_requests.labels(direction, sip_method_label(first[0])).inc()


class _LogStream:
    """A file-like sink: what is written between two flushes becomes one log record (one traceback)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def write(self, text: str) -> int:
        parts = getattr(self._local, "parts", None)
        if parts is None:
            parts = self._local.parts = []
        parts.append(text)
        return len(text)

    def flush(self) -> None:
        parts = getattr(self._local, "parts", None) or []
        self._local.parts = []
        text = "".join(parts).rstrip()
        if text:
            logger.debug("%s", text)


_stream = _LogStream()


def _print(*args: Any, sep: str | None = " ", end: str | None = "\n", file: Any = None, flush: bool = False) -> None:
    logger.debug("%s", (sep if sep is not None else " ").join(str(arg) for arg in args))


def route_sippy_output() -> None:
    """Redirects sippy's prints and tracebacks; call it after the sippy modules in use are imported."""
    from sippy.Core import Exceptions

    # Every module imported dump_exception by name; the function object is shared, so its default
    # output file is changed once for all of them.
    Exceptions.dump_exception.__defaults__ = (_stream, None)
    for name, module in list(sys.modules.items()):
        if (name == "sippy" or name.startswith("sippy.")) and module is not None:
            # A module-level `print` shadows the builtin for that module's own functions only.
            module.print = _print  # type: ignore[attr-defined]

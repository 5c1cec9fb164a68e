"""Logging for the server: text or JSON lines (RESTCOMM_LOG_FORMAT), each with its call, account, request and
node, and with credentials taken out of every line whatever logged it.

Redaction (telemetry/redaction.py) is done in the formatter of the one handler the process logs through, so it
covers our messages, library messages, exception texts and the SIP trace alike.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

import orjson

from telemetry import log_context
from telemetry.redaction import REDACTED, redact

__all__ = ["FORMATS", "REDACTED", "JsonFormatter", "TextFormatter", "configure", "redact"]

FORMATS = ("text", "json")

_CONTEXT = (("call_sid", log_context.call_sid), ("account_sid", log_context.account_sid),
            ("request_id", log_context.request_id))


def _context(record: logging.LogRecord) -> dict[str, str]:
    """The call, account and request of a record: given with it (`extra=`) or current where it was logged."""
    fields = log_context.current()
    for name in ("call_sid", "account_sid"):
        given = record.__dict__.get(name)
        if given:
            fields[name] = given
    return fields


def _event_fields(record: logging.LogRecord) -> dict[str, Any]:
    return record.__dict__.get("fields") or {}


class JsonFormatter(logging.Formatter):
    """One JSON object per line. A call logs a dozen of them, so this is written for speed (bench/telemetry.py):
    the time text is made once per second, and only text that can hold a secret (the message, text fields,
    a traceback) is redacted; the fixed keys (level, logger, node, SIDs, the event name) cannot."""

    def __init__(self, node: str) -> None:
        super().__init__()
        self.node = node
        self._second = -1
        self._second_text = ""

    def _time(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int((created - second) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
            "node": self.node,
        }
        values = record.__dict__
        for name, variable in _CONTEXT:
            value = values.get(name) or variable.get()
            if value is not None:
                entry[name] = value
        event = values.get("event")
        if event:
            entry["event"] = event
            for name, value in values["fields"].items():
                if name not in entry:
                    entry[name] = value if value is None or isinstance(value, int | float) else redact(str(value))
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry).decode()


class TextFormatter(logging.Formatter):
    def __init__(self, node: str) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = " ".join(f"{name}={value}" for name, value in _event_fields(record).items())
        context = " ".join(f"{name}={value}" for name, value in _context(record).items())
        extra = " ".join(part for part in (fields, f"[{context}]" if context else "") if part)
        if extra:
            head, newline, rest = line.partition("\n")  # after the message, before any traceback
            line = f"{head} {extra}{newline}{rest}"
        return redact(line)


def configure(log_format: str, level: str, node: str, stream: TextIO | None = None) -> logging.Handler:
    """The root logger writes to `stream` (stderr) in `log_format`; every other logger propagates to it."""
    if log_format not in FORMATS:
        raise ValueError(f"RESTCOMM_LOG_FORMAT must be text or json, not {log_format!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(node) if log_format == "json" else TextFormatter(node))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's request lines only at debug, as before: the call events say what happened.
    logging.getLogger("uvicorn.access").setLevel(logging.DEBUG if level.lower() == "debug" else logging.WARNING)
    return handler

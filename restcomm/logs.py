"""Logging for the server: text or JSON lines (RESTCOMM_LOG_FORMAT), each with its call, account, request and
node, and with credentials taken out of every line whatever logged it.

Redaction is done in the formatter of the one handler the process logs through, so it covers our messages,
library messages, exception texts and the SIP trace alike: a URL's password
(`http://user:secret@host`), the value of any Authorization or Proxy-Authorization header (HTTP Basic, SIP
digest), `Password=`/`AuthToken=`/`secret=`-style pairs, and any bare 32-hex string (an auth token is the MD5
hex of a password). SIDs keep their hex (it follows their two-letter prefix) and so do SIP Call-IDs, which a
reader needs to follow a dialog.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any, TextIO

import orjson

from telemetry import log_context

FORMATS = ("text", "json")
REDACTED = "[redacted]"

_URL_PASSWORD = re.compile(r"://([^/\s:@\"']+):([^/\s@\"']+)@")
_AUTH_HEADER = re.compile(r"(?i)\b((?:proxy-)?authorization\s*[:=]\s*)[^\r\n]+")
_SECRET_PAIR = re.compile(
    r"(?i)\b((?:password|passwd|auth_?token|secret|sip_secret|metrics_token|token)[\"']?\s*[:=]\s*[\"']?)"
    r"[^\"'&\s,;)}]+")
_BARE_TOKEN = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32}(?![0-9A-Za-z])")
_CALL_ID_BEFORE = re.compile(r"(?i)(call[-_]?id|\bi)\W{0,4}$")


_SECRET_WORDS = ("password", "passwd", "token", "secret")


def redact(text: str) -> str:
    # Each pattern only where a cheap look says it can match: most lines have none of them, and a line
    # costs the call it is about (bench/telemetry.py measures it).
    lower = text.lower()
    if "@" in text:
        text = _URL_PASSWORD.sub(rf"://\1:{REDACTED}@", text)
    if "authorization" in lower:
        text = _AUTH_HEADER.sub(rf"\1{REDACTED}", text)
    if any(word in lower for word in _SECRET_WORDS):
        text = _SECRET_PAIR.sub(rf"\1{REDACTED}", text)
    return _BARE_TOKEN.sub(_unless_call_id, text)


def _unless_call_id(match: re.Match) -> str:
    before = match.string[max(0, match.start() - 12):match.start()]
    return match.group(0) if _CALL_ID_BEFORE.search(before) else REDACTED


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

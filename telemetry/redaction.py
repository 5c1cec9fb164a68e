"""Credentials taken out of text: what the log formatter (restcomm/logs.py) and the stored SIP messages
(calls/sip_messages.py) do to every line before anyone can read it.

A URL's password (`http://user:secret@host`), the value of any Authorization or Proxy-Authorization header
(HTTP Basic, SIP digest), `Password=`/`AuthToken=`/`secret=`-style pairs, and any bare 32-hex string (an auth
token is the MD5 hex of a password). SIDs keep their hex (it follows their two-letter prefix) and so do SIP
Call-IDs, which a reader needs to follow a dialog.
"""

from __future__ import annotations

import re

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

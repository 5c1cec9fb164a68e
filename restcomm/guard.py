"""What every request must satisfy before routing, checked once for the whole API.

- `/restcomm/20120424/...` (the docs' other spelling) is rewritten to `/restcomm/2012-04-24/...`.
- A trailing slash on a resource path is dropped (`POST /Accounts.json/` creates, as RestComm does): the
  router would answer 307, and clients that do not follow a redirect on POST would create nothing.
- Bodies are capped (413), so a client cannot make the server buffer megabytes. A Content-Length that is
  not a number is a malformed request (400), as an HTTP server in front would answer.
- Parameters, in the query and in form bodies, must be UTF-8 without control characters. A parameter the
  operation declares may not be repeated unless the spec declares it as an array: connexion would
  silently join repeated values with a comma (`From=a&From=b` becomes `"a,b"`). Unknown parameters are
  ignored, repeated or not. More than 1,000 parameters are refused (400), and so is a request with two
  Content-Type, Content-Length, Transfer-Encoding or Authorization headers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calls.types import API_VERSION
from handlers.errors import ApiError, Code, bad_request

ALIAS_PREFIX = f"/restcomm/{API_VERSION.replace('-', '')}"
CANONICAL_PREFIX = f"/restcomm/{API_VERSION}"
RESOURCES_PREFIX = f"{CANONICAL_PREFIX}/Accounts"
MAX_BODY_BYTES = 64 * 1024
# Parameters in one query or form: starlette's form parser stops at 1,000 with an exception (a 500 here).
MAX_PARAMETERS = 1000
# Headers that decide how a request is read: one of each, or two parts of the stack may read it two ways
# (the guard checked one Content-Type's body, connexion parsed the other's).
_SINGLE_HEADERS = (b"content-type", b"content-length", b"transfer-encoding", b"authorization")

_CONTROL = re.compile("[\x00-\x1f\x7f]")
# Parameters that hold a document rather than a value: tabs and line breaks are part of it (Twilio's `Twiml`).
_DOCUMENTS = frozenset({"Twiml"})
_CONTROL_IN_DOCUMENT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FORM = "application/x-www-form-urlencoded"


# The parameters an operation declares, by (path, method); None when no operation matches.
Declared = Callable[[str, str], frozenset[str] | None]
# The methods of the first path template of the spec that matches a path ("GET, HEAD, POST"), or None.
Allowed = Callable[[str], str | None]


class RequestGuard:
    def __init__(self, app: ASGIApp, declared: Declared, allowed: Allowed, repeatable: Iterable[str] = (),
                 max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.declared = declared
        self.allowed = allowed
        self.repeatable = frozenset(repeatable)
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = _rewrite_alias(scope)
        self._check_method(scope)
        declared = self.declared(scope["path"], scope["method"]) or frozenset()
        self._check_parameters(_decode(scope.get("query_string", b"")), declared)
        names = [name.lower() for name, _ in scope.get("headers", [])]
        for single in _SINGLE_HEADERS:
            if names.count(single) > 1:
                raise bad_request(f"The {single.decode().title()} header is given more than once")
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        length = headers.get(b"content-length")
        if length is not None and not length.isdigit():
            raise bad_request("Content-Length must be a number of bytes")
        if scope["method"] in ("POST", "PUT", "PATCH"):
            # Only bodies the API reads are capped: a GET's or DELETE's body is never read, whatever its size.
            if length is not None and int(length) > self.max_body:
                raise _too_large(self.max_body)
            body = await self._read_body(receive)
            if headers.get(b"content-type", b"").split(b";")[0].strip().lower() == _FORM.encode():
                self._check_parameters(_decode(body), declared)
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    def _check_method(self, scope: Scope) -> None:
        """405 when the path's resource lacks the method, decided by the spec's first matching template.

        The router alone would let `DELETE .../Recordings/RE...wav` reach the DELETE of
        `.../Recordings/{RecordingSid}` (with RecordingSid "RE....wav") and answer a confusing 400.
        """
        allowed = self.allowed(scope["path"])
        if allowed is not None and scope["method"] not in allowed.split(", "):
            raise ApiError(405, Code.METHOD_NOT_ALLOWED, "This method is not allowed on this resource",
                           {"Allow": allowed})

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _too_large(self.max_body)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _check_parameters(self, text: str, declared: frozenset[str]) -> None:
        if not text:
            return
        try:
            pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            raise bad_request("Parameters must be UTF-8 (percent-encoded)") from None
        if len(pairs) > MAX_PARAMETERS:
            raise bad_request(f"More than {MAX_PARAMETERS} parameters in one request")
        seen: set[str] = set()
        for name, value in pairs:
            # Values only: a parameter name with a control character names nothing and is ignored as unknown.
            if (_CONTROL_IN_DOCUMENT if name in _DOCUMENTS else _CONTROL).search(value):
                raise bad_request(f"Parameter {_printable(name)} contains a control character")
            if name in seen and name in declared and name not in self.repeatable:
                raise bad_request(f"Parameter {_printable(name)} is given more than once")
            seen.add(name)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        # Raw (not percent-encoded) non-ASCII bytes: no conforming client sends them.
        raise bad_request("Parameters must be percent-encoded UTF-8") from None


def _printable(name: str) -> str:
    return repr(_CONTROL.sub("?", name)[:64])


def _too_large(limit: int) -> ApiError:
    return ApiError(413, Code.BODY_TOO_LARGE, f"The request body is larger than {limit // 1024} KiB")


def _rewrite_alias(scope: Scope) -> Scope:
    path: str = scope["path"]
    # raw_path keeps the client's percent-encoding (`administrator%40company.com`): change it the same way.
    raw: bytes = scope.get("raw_path") or path.encode()
    if path == ALIAS_PREFIX or path.startswith(ALIAS_PREFIX + "/"):
        path = CANONICAL_PREFIX + path[len(ALIAS_PREFIX):]
        raw = CANONICAL_PREFIX.encode() + raw[len(ALIAS_PREFIX):]
    # Resources only: the API reference at `.../ui/` needs its slash.
    if path.startswith(RESOURCES_PREFIX) and path.endswith("/"):
        path, raw = path.rstrip("/"), raw.rstrip(b"/")
    if path == scope["path"]:
        return scope
    return {**scope, "path": path, "raw_path": raw}


def _replay(body: bytes, original: Receive) -> Receive:
    """The body already read, then whatever the client sends next (its disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive

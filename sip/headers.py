"""SIP header names and values as the rest of the server sees them: canonical names, case-blind lookup."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Names whose canonical spelling is not plain Title-Case of their dash-separated words.
_SPECIAL = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version",
    "rack": "RAck",
    "rseq": "RSeq",
    "sip-etag": "SIP-ETag",
    "sip-if-match": "SIP-If-Match",
}
_TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")
# Headers the stack writes itself; letting a caller add a second copy would corrupt the request.
_STACK_OWNED = frozenset(
    {"via", "from", "to", "call-id", "cseq", "contact", "content-length", "content-type", "max-forwards",
     "route", "record-route", "authorization", "proxy-authorization", "user-agent"}
)


def canonical_name(name: str) -> str:
    lowered = name.strip().lower()
    return _SPECIAL.get(lowered) or "-".join(part.capitalize() for part in lowered.split("-"))


def check_extra_header(name: str, value: str) -> None:
    """Raises ValueError for a header a caller may not add to a request we send."""
    if not _TOKEN.match(name):
        raise ValueError(f"{name!r} is not a valid SIP header name")
    if name.lower() in _STACK_OWNED:
        raise ValueError(f"the {canonical_name(name)} header is written by the SIP stack and cannot be added")
    if any(ch in value for ch in "\r\n\0"):
        raise ValueError(f"the value of {name} contains a line break or NUL")


class HeaderDict(dict[str, str]):
    """Headers keyed by canonical name; lookups ignore case, as SIP header names do (RFC 3261 7.3.1)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__()
        for name, value in pairs:
            key = canonical_name(name)
            # Repeated headers combine into one comma-separated value, which RFC 3261 7.3.1 makes equivalent.
            self[key] = f"{self[key]}, {value}" if key in self else value

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(canonical_name(name))

    def __setitem__(self, name: str, value: str) -> None:
        super().__setitem__(canonical_name(name), value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(canonical_name(name))

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(canonical_name(name), default)

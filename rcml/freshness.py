"""How long a fetched audio file may be played from the cache, and how to ask its server whether it changed:
HTTP caching (RFC 9111) reduced to what a prompt cache needs, as Twilio caches `<Play>` files.

- `Cache-Control: no-store` is never kept; `no-cache` and `max-age=0` are kept but checked with the server (a
  conditional GET with the `ETag` and `Last-Modified` it gave) before every play.
- `s-maxage`, then `max-age` (less the `Age` the response already has), then `Expires` - `Date`.
- Without any of those, a tenth of the time since `Last-Modified` (the RFC's heuristic), at most a day.
- Without even that, DEFAULT_LIFETIME_S: a changed file at the same URL is picked up within minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime

DEFAULT_LIFETIME_S = 300.0
_HEURISTIC_FRACTION = 0.1
_HEURISTIC_MAX_S = 86400.0


@dataclass(frozen=True)
class Freshness:
    store: bool  # False: no-store, the response must not be kept
    lifetime_s: float  # how long it may be used without asking the server again (0: ask every time)
    etag: str | None
    last_modified: str | None

    def conditional_headers(self) -> dict[str, str]:
        """The headers of a GET that the server answers 304 when the file did not change."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    @property
    def revalidates(self) -> bool:
        return bool(self.etag or self.last_modified)


def freshness(headers: list[tuple[str, str]]) -> Freshness:
    named = {}
    for name, value in headers:
        named.setdefault(name.lower(), value)
    directives = _cache_control(named.get("cache-control", ""))
    etag, last_modified = named.get("etag"), named.get("last-modified")
    if "no-store" in directives:
        return Freshness(False, 0.0, etag, last_modified)
    return Freshness(True, lifetime(named, directives), etag, last_modified)


def lifetime(named: dict[str, str], directives: dict[str, str | None]) -> float:
    if "no-cache" in directives:
        return 0.0
    for directive in ("s-maxage", "max-age"):
        if directive in directives:
            seconds = _seconds(directives[directive])
            if seconds is not None:
                return max(0.0, seconds - (_seconds(named.get("age")) or 0.0))
            return 0.0  # an unreadable max-age is stale (RFC 9111 4.2.1)
    date = _date(named.get("date"))
    if "expires" in named:
        expires = _date(named["expires"])
        if expires is None or date is None:
            return 0.0  # an invalid Expires, "0" included, means already expired
        return max(0.0, expires - date)
    modified = _date(named.get("last-modified"))
    if modified is not None and date is not None:
        return min(_HEURISTIC_MAX_S, max(0.0, (date - modified) * _HEURISTIC_FRACTION))
    return DEFAULT_LIFETIME_S


def _cache_control(value: str) -> dict[str, str | None]:
    directives: dict[str, str | None] = {}
    for part in value.split(","):
        name, _, argument = part.strip().partition("=")
        if name:
            directives[name.lower()] = argument.strip('"') if argument else None
    return directives


def _seconds(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


def _date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None

"""Twilio's wire forms: RFC 2822 dates, numbers as strings, its list envelope and its opaque page tokens."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import orjson

from handlers.render import Format, response
from models import clock
from models.paging import Window

API_VERSION = "2010-04-01"
PREFIX = f"/{API_VERSION}"

_NANP = re.compile(r"^\+1(\d{3})(\d{3})(\d{4})$")


def date(value: dt.datetime | None) -> str | None:
    """`Tue, 31 Aug 2010 20:36:28 +0000`: twilio-python reads dates with email.utils and turns any other
    form into None without a word."""
    return None if value is None else clock.rfc2822(value)


def text(value: Any) -> str | None:
    """Twilio writes numbers (a duration, a price) as strings."""
    return None if value is None else str(value)


def formatted(number: str | None) -> str | None:
    """`to_formatted`: a North American number as `(617) 555-1212`, anything else as it is."""
    if number is None:
        return None
    match = _NANP.match(number)
    return f"({match[1]}) {match[2]}-{match[3]}" if match else number


def json(body: Any, status: int = 200):
    return response(orjson.dumps(body), Format.JSON, status)


def page(key: str, path: str, items: list[dict[str, Any]], window: Window, *, size: int, number: int,
         filters: Sequence[tuple[str, str]], token: str | None, backwards: bool) -> Any:
    """A list in Twilio's envelope. `path` is below the API version (`/Accounts/AC.../Calls.json`); `window`
    was read after (`backwards=False`) or before the item of `token`; SIDs of the items give the next tokens."""
    base = PREFIX + path

    def uri(page_number: int, page_token: str | None = None) -> str:
        query = [*filters, ("PageSize", str(size)), ("Page", str(page_number))]
        if page_token:
            query.append(("PageToken", page_token))
        return f"{base}?{urlencode(query)}"

    first_sid = items[0]["sid"] if items else None
    last_sid = items[-1]["sid"] if items else None
    # Older items follow when the window says so, or always when it was read towards newer ones (the anchor
    # it was read before is older than all of them).
    has_next = bool(last_sid) and (backwards or window.more)
    has_previous = bool(first_sid) and (window.more if backwards else token is not None)
    start = number * size
    return json({
        key: items,
        "start": start,
        "end": start + len(items) - 1 if items else start,
        "page": number,
        "page_size": size,
        "uri": uri(number, token),
        "first_page_uri": uri(0),
        "next_page_uri": uri(number + 1, f"PA{last_sid}") if has_next else None,
        "previous_page_uri": uri(max(number - 1, 0), f"PB{first_sid}") if has_previous else None,
    })


def page_anchor(token: str | None) -> tuple[str | None, str | None]:
    """(after_sid, before_sid) of a PageToken (`PA<Sid>` or `PB<Sid>`; twilio.yaml admits no other form)."""
    if not token:
        return None, None
    return (token[2:], None) if token.startswith("PA") else (None, token[2:])

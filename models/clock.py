"""The one source of timestamps for stored rows: UTC, truncated to the millisecond the API shows.

Truncating at write time keeps what is stored, what is shown and what keyset paging compares identical.
"""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime


def now() -> dt.datetime:
    t = dt.datetime.now(dt.UTC)
    return t.replace(microsecond=t.microsecond - t.microsecond % 1000)


def iso(value: dt.datetime | None) -> str | None:
    """`2013-11-01T09:41:14.488+00:00`, the form the RestComm docs show."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def rfc2822(value: dt.datetime | None) -> str:
    """`Tue, 08 Jan 2019 10:00:00 +0000`: how Twilio and RestComm write a callback's Timestamp."""
    return format_datetime((value or now()).astimezone(dt.UTC))

"""The filters of the Calls list (contract section 5), turned into one query."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from tortoise.queryset import QuerySet

from models.call import Call

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class InvalidFilter(ValueError):
    """A filter value the spec's pattern let through but that names no real day or instant."""


@dataclass(frozen=True)
class TimeBound:
    """One condition on a timestamp column: `op` is a Tortoise lookup (gte, lt, lte)."""

    op: str
    value: dt.datetime


_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)
_LATEST = dt.datetime.max.replace(tzinfo=dt.UTC)


def parse_moment(name: str, raw: str) -> tuple[dt.datetime, bool]:
    """(start of the day or the instant, in UTC; whether it was a whole day)."""
    try:
        if _DAY.match(raw):
            day = dt.date.fromisoformat(raw)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC), True
        instant = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidFilter(f"{name} must be a date (YYYY-MM-DD) or a date-time, not {raw!r}") from None
    if instant.tzinfo is None:
        raise InvalidFilter(f"{name} needs a UTC offset (Z or +hh:mm) when it gives a time")
    try:
        return instant.astimezone(dt.UTC), False
    except OverflowError:
        # 0001-01-01T00:00+01:00 is before the first representable UTC instant, 9999-12-31T23:59-01:00 after.
        return (_EARLIEST if instant.year == 1 else _LATEST), False


def bounds(name: str, raw: str, relation: str) -> list[TimeBound]:
    """`relation` is "=", ">=" or "<="; a day covers [00:00, next 00:00), an instant only itself."""
    moment, whole_day = parse_moment(name, raw)
    if whole_day:
        # The end of a day is the next day's start; 9999-12-31 has none, so it ends with time itself.
        end = TimeBound("lt", moment + dt.timedelta(days=1)) if moment.date() < dt.date.max else None
    else:
        end = TimeBound("lte", moment)
    if relation == "=":
        return [TimeBound("gte", moment), *([end] if end else [])]
    if relation == ">=":
        return [TimeBound("gte", moment)]
    return [end] if end else []


def restore_plus(value: str) -> str:
    """A `+` written unencoded in a URL or form arrives as a space: `+1617...` must not become ` 1617...`."""
    if len(value) > 1 and value[0] == " " and value[1] in "0123456789":
        return "+" + value[1:]
    # Only the ASCII space: str.strip() would also eat characters such as U+0085 that a value may hold.
    return value.strip(" ")


# Query keys as clients send them: `StartTime>=2013-10-01` arrives as key `StartTime>`, value `2013-10-01`.
_TIME_KEYS = {
    "StartTime": ("start_time", "="),
    "StartTime>": ("start_time", ">="),
    "StartTime<": ("start_time", "<="),
    "EndTime": ("end_time", "="),
    "EndTime>": ("end_time", ">="),
    "EndTime<": ("end_time", "<="),
}
FILTER_KEYS = ("To", "From", "Status", "ParentCallSid", *_TIME_KEYS)


@dataclass(frozen=True)
class CallFilter:
    to: str | None = None
    from_: str | None = None
    status: str | None = None
    parent_call_sid: str | None = None
    times: dict[str, list[TimeBound]] = field(default_factory=dict)
    # The filters as given, in request order, to carry into paging URIs.
    given: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> CallFilter:
        normalized = {key: restore_plus(query[key]) if key in ("To", "From") else query[key]
                      for key in FILTER_KEYS if key in query}
        times: dict[str, list[TimeBound]] = {}
        for key, (column, relation) in _TIME_KEYS.items():
            if key in query:
                times.setdefault(column, []).extend(bounds(key, query[key], relation))
        return cls(
            to=normalized.get("To"),
            from_=normalized.get("From"),
            status=normalized.get("Status"),
            parent_call_sid=normalized.get("ParentCallSid"),
            times=times,
            given=tuple(normalized.items()),
        )

    @property
    def counted_by_status_only(self) -> bool:
        """No filter but (maybe) Status: the maintained per-status counters give the total."""
        return self.to is None and self.from_ is None and self.parent_call_sid is None and not self.times

    def apply(self, query: QuerySet[Call]) -> QuerySet[Call]:
        conditions: dict[str, object] = {}
        if self.to is not None:
            conditions["to_address"] = self.to
        if self.from_ is not None:
            conditions["from_address"] = self.from_
        if self.status is not None:
            conditions["status"] = self.status
        if self.parent_call_sid is not None:
            conditions["parent_call_sid"] = self.parent_call_sid
        for column, column_bounds in self.times.items():
            for bound in column_bounds:
                query = query.filter(**{f"{column}__{bound.op}": bound.value})
        return query.filter(**conditions) if conditions else query

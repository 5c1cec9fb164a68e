"""Date filters of the lists: a day (`YYYY-MM-DD`) or an instant, and its `>=`/`<=` forms, as conditions.

Clients send `StartTime>=2013-10-01` as the query key `StartTime>` with the value `2013-10-01`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from tortoise.queryset import QuerySet

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


def time_bounds(query: Mapping[str, str], keys: Mapping[str, tuple[str, str]]) -> dict[str, list[TimeBound]]:
    """Conditions per column from the query; `keys` maps a query key to (column, relation)."""
    times: dict[str, list[TimeBound]] = {}
    for key, (column, relation) in keys.items():
        if key in query:
            times.setdefault(column, []).extend(bounds(key, query[key], relation))
    return times


def apply_bounds(query: QuerySet, times: Mapping[str, list[TimeBound]]) -> QuerySet:
    for column, column_bounds in times.items():
        for bound in column_bounds:
            query = query.filter(**{f"{column}__{bound.op}": bound.value})
    return query


def keys_for(name: str, column: str) -> dict[str, tuple[str, str]]:
    """The three query keys of a date filter: `name`, `name>` (on or after) and `name<` (on or before)."""
    return {name: (column, "="), f"{name}>": (column, ">="), f"{name}<": (column, "<=")}

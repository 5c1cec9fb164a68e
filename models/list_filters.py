"""The filters of every list (contract sections 5 and 9), each declared once: query key -> the rows it keeps.

A list's filter reads the query string and becomes conditions on its rows plus the filters as given, in
declaration order, to carry into its paging URIs. Clients send `StartTime>=2013-10-01` as the query key
`StartTime>` with the value `2013-10-01` (models/time_filter.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tortoise.queryset import QuerySet

from models.phone_number import number_variants
from models.time_filter import InvalidFilter, TimeBound, apply_bounds, keys_for, time_bounds

__all__ = ["CALLS", "CONFERENCES", "NOTIFICATIONS", "PHONE_NUMBERS", "RECORDINGS", "Filtering", "InvalidFilter",
           "ListFilter", "Match", "restore_plus"]


def restore_plus(value: str) -> str:
    """A `+` written unencoded in a URL or form arrives as a space: `+1617...` must not become ` 1617...`."""
    if len(value) > 1 and value[0] == " " and value[1] in "0123456789":
        return "+" + value[1:]
    # Only the ASCII space: str.strip() would also eat characters such as U+0085 that a value may hold.
    return value.strip(" ")


def _as_given(value: str) -> str:
    return value


@dataclass(frozen=True)
class Match:
    """`Key=value` keeps the rows whose `column` holds the value: normalized as the API shows it (`normalize`),
    converted to the column's type (`convert`), or any of its spellings (`spellings`, for phone numbers)."""

    column: str
    normalize: Callable[[str], str] = _as_given
    convert: Callable[[str], Any] = _as_given
    spellings: Callable[[str], list[str]] | None = None

    def condition(self, value: str) -> dict[str, Any]:
        if self.spellings is not None:
            return {f"{self.column}__in": self.spellings(value)}
        return {self.column: self.convert(value)}


@dataclass(frozen=True)
class Filtering:
    """One request's filters: the conditions, and the filters as given (normalized) for the paging URIs."""

    given: tuple[tuple[str, str], ...] = ()
    conditions: dict[str, Any] = field(default_factory=dict)
    times: dict[str, list[TimeBound]] = field(default_factory=dict)

    def value(self, key: str) -> str | None:
        return next((value for given_key, value in self.given if given_key == key), None)

    def only(self, *keys: str) -> bool:
        """Whether no filter other than `keys` was given."""
        return all(key in keys for key, _ in self.given)

    def apply(self, query: QuerySet) -> QuerySet:
        query = apply_bounds(query, self.times)
        return query.filter(**self.conditions) if self.conditions else query


@dataclass(frozen=True)
class ListFilter:
    matches: Mapping[str, Match] = field(default_factory=dict)
    # Date filters: query key -> (column, relation), as models.time_filter.keys_for makes them.
    times: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def parse(self, query: Mapping[str, str]) -> Filtering:
        """Raises InvalidFilter for a date the spec's pattern let through but that names no real day."""
        given = []
        conditions: dict[str, Any] = {}
        for key, match in self.matches.items():
            if key in query:
                value = match.normalize(query[key])
                given.append((key, value))
                conditions.update(match.condition(value))
        given.extend((key, query[key]) for key in self.times if key in query)
        return Filtering(tuple(given), conditions, time_bounds(query, self.times))


CALLS = ListFilter(
    matches={"To": Match("to_address", restore_plus), "From": Match("from_address", restore_plus),
             "Status": Match("status"), "ParentCallSid": Match("parent_call_sid")},
    times={**keys_for("StartTime", "start_time"), **keys_for("EndTime", "end_time")},
)
CONFERENCES = ListFilter(matches={"Status": Match("status"), "FriendlyName": Match("friendly_name")})
NOTIFICATIONS = ListFilter(matches={"Log": Match("log", convert=int), "ErrorCode": Match("error_code", convert=int),
                                    "CallSid": Match("call_sid")})
PHONE_NUMBERS = ListFilter(matches={"PhoneNumber": Match("phone_number", restore_plus, spellings=number_variants),
                                    "FriendlyName": Match("friendly_name")})
RECORDINGS = ListFilter(matches={"CallSid": Match("call_sid")}, times=keys_for("DateCreated", "date_created"))

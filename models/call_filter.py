"""The filters of the Calls list (contract section 5), turned into one query."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tortoise.queryset import QuerySet

from models.call import Call
from models.time_filter import InvalidFilter, TimeBound, apply_bounds, keys_for, time_bounds

__all__ = ["CallFilter", "InvalidFilter", "restore_plus"]

def restore_plus(value: str) -> str:
    """A `+` written unencoded in a URL or form arrives as a space: `+1617...` must not become ` 1617...`."""
    if len(value) > 1 and value[0] == " " and value[1] in "0123456789":
        return "+" + value[1:]
    # Only the ASCII space: str.strip() would also eat characters such as U+0085 that a value may hold.
    return value.strip(" ")


# Query keys as clients send them: `StartTime>=2013-10-01` arrives as key `StartTime>`, value `2013-10-01`.
_TIME_KEYS = {**keys_for("StartTime", "start_time"), **keys_for("EndTime", "end_time")}
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
        times = time_bounds(query, _TIME_KEYS)
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
        query = apply_bounds(query, self.times)
        return query.filter(**conditions) if conditions else query

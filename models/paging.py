"""Pages of any list resource: newest first, ties broken by SID, by offset or after a given item.

Every listed model has `sid` and `date_created`, and an index that starts with its scope (the account or
the call) followed by (date_created, sid). `AfterSid` turns into a range condition on that index, so the
10,000th page costs what the first does; `Page` alone is an OFFSET, which gets slower the deeper it goes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)

NEWEST_FIRST = ("-date_created", "-sid")


@dataclass(frozen=True)
class PageRequest:
    page: int = 0
    page_size: int = 50
    after_sid: str | None = None


@dataclass(frozen=True)
class Page(Generic[M]):
    items: list[M]
    total: int
    has_more: bool
    request: PageRequest

    @property
    def start(self) -> int:
        return self.request.page * self.request.page_size

    @property
    def end(self) -> int:
        return self.start + len(self.items) - 1 if self.items else self.start

    @property
    def num_pages(self) -> int:
        return -(-self.total // self.request.page_size)


class UnknownAnchor(LookupError):
    """`AfterSid` names no item of the list's scope."""


async def fetch_page(scope: QuerySet[M], filtered: QuerySet[M], request: PageRequest,
                     count: Callable[[], Awaitable[int]] | None = None) -> Page[M]:
    """One page of `filtered` (a subset of `scope`), with the total count of `filtered`.

    `count`, when given, is a cheaper way to the same total (a maintained counter).

    The `AfterSid` item is looked up in `scope`, not in `filtered`: a client may keep paging after an
    item that has since stopped matching (a call that changed status), and must not page after an item
    of another account.
    """
    ordered = filtered.order_by(*NEWEST_FIRST)
    if request.after_sid is not None:
        anchor = await scope.filter(sid=request.after_sid).values_list("date_created", flat=True)
        if not anchor:
            raise UnknownAnchor(request.after_sid)
        rows_query = ordered.filter(after(anchor[0], request.after_sid))
    else:
        rows_query = ordered.offset(request.page * request.page_size)
    # One row more than the page tells whether another page follows, even while rows are being added.
    total, rows = await asyncio.gather(count() if count else filtered.count(), rows_query.limit(request.page_size + 1))
    return Page(rows[: request.page_size], total, len(rows) > request.page_size, request)


def after(date_created: dt.datetime, sid: str) -> Q:
    """Rows that come after (date_created, sid) in newest-first order.

    The redundant `date_created <= anchor` bounds the index scan; the OR only refines rows that share
    the anchor's timestamp.
    """
    return Q(date_created__lte=date_created) & (
        Q(date_created__lt=date_created) | Q(date_created=date_created, sid__lt=sid)
    )


def page_request(page: Any, page_size: Any, after_sid: Any) -> PageRequest:
    return PageRequest(page=int(page), page_size=int(page_size), after_sid=after_sid or None)


def before(date_created: dt.datetime, sid: str) -> Q:
    """Rows that come before (date_created, sid) in newest-first order: the newer ones."""
    return Q(date_created__gte=date_created) & (
        Q(date_created__gt=date_created) | Q(date_created=date_created, sid__gt=sid)
    )


@dataclass(frozen=True)
class Window(Generic[M]):
    """A page found by keyset alone, without a count (the Twilio dialect's lists have no `total`)."""

    items: list[M]
    # Whether more items follow in the direction the window was read: older ones (after), newer ones (before).
    more: bool


async def fetch_window(scope: QuerySet[M], filtered: QuerySet[M], size: int, *, offset: int = 0,
                       after_sid: str | None = None, before_sid: str | None = None) -> Window[M]:
    """`size` items of `filtered`, newest first: after `after_sid`, before `before_sid`, or from `offset`.

    The anchor is looked up in `scope`, as `fetch_page` does; an anchor that is not there raises UnknownAnchor.
    """
    anchor_sid = after_sid or before_sid
    if anchor_sid is None:
        rows = await filtered.order_by(*NEWEST_FIRST).offset(offset).limit(size + 1)
        return Window(rows[:size], len(rows) > size)
    anchor = await scope.filter(sid=anchor_sid).values_list("date_created", flat=True)
    if not anchor:
        raise UnknownAnchor(anchor_sid)
    if after_sid is not None:
        rows = await filtered.filter(after(anchor[0], after_sid)).order_by(*NEWEST_FIRST).limit(size + 1)
        return Window(rows[:size], len(rows) > size)
    # Before: the nearest newer rows are read oldest first, then put back in newest-first order.
    rows = await filtered.filter(before(anchor[0], anchor_sid)).order_by("date_created", "sid").limit(size + 1)
    return Window(list(reversed(rows[:size])), len(rows) > size)

"""How a resource renders, declared once per resource: its fields, its item element, its list's keys, and the
paging envelope of its lists (contract section 5): counts, positions and the links to follow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from calls.types import API_VERSION
from handlers import errors
from handlers.render import Fields, Format, PageLinks, render_item, render_list
from models.list_filters import Filtering, InvalidFilter, ListFilter
from models.paging import Page, PageRequest, UnknownAnchor, fetch_page

API_PREFIX = f"/{API_VERSION}"
# Paging links start at the server's root, as RestComm's docs show them, so a client follows them as given.
# (An item's own `uri` stays relative to `/restcomm`, as the docs show items.)
LIST_PREFIX = f"/restcomm{API_PREFIX}"

FieldsOf = Callable[[Any, Format], Fields]


@dataclass(frozen=True)
class Resource:
    """`Resource("calls", "Calls", "Call", call_fields)`: JSON list key, XML list and item names, fields.

    A `json_key` of None makes the JSON list a bare array with its paging links in a `Link` header, as
    RestComm answers its Accounts and Clients lists (and its clients parse them).
    """

    json_key: str | None
    xml_list_name: str
    xml_item_name: str
    fields_of: FieldsOf

    def item(self, fmt: Format, item: Any, *, status: int = 200, fields_of: FieldsOf | None = None):
        return render_item(fmt, self.xml_item_name, (fields_of or self.fields_of)(item, fmt), status)

    async def page(
        self,
        fmt: Format,
        *,
        path: str,
        scope,
        request: PageRequest,
        filtered=None,
        filters: Sequence[tuple[str, str]] = (),
        count: Callable[[], Awaitable[int]] | None = None,
        fields_of: FieldsOf | None = None,
    ):
        """One page of `filtered` (`scope` narrowed by the request's filters; `scope` itself by default).

        `path` is the list's path below the API version, without suffix (`/Accounts/AC.../Calls`); `filters`
        are carried into the paging links; `count` replaces counting `filtered` when a cheaper total exists.
        """
        try:
            page = await fetch_page(scope, scope if filtered is None else filtered, request, count)
        except UnknownAnchor:
            raise errors.not_found(f"AfterSid {request.after_sid} is not an item of this list") from None
        last_sid = page.items[-1].sid if page.items else None
        fields_of = fields_of or self.fields_of
        return render_list(
            fmt,
            json_key=self.json_key,
            xml_list_name=self.xml_list_name,
            xml_item_name=self.xml_item_name,
            links=links(fmt, path, filters, page, last_sid),
            items=[fields_of(item, fmt) for item in page.items],
        )


def links(
    fmt: Format, path: str, filters: Sequence[tuple[str, str]], page: Page, last_sid: str | None
) -> PageLinks:
    base = f"{LIST_PREFIX}{path}{fmt.suffix}"
    size = page.request.page_size

    def uri(page_number: int, after_sid: str | None = None) -> str:
        query = [*filters, ("Page", str(page_number)), ("PageSize", str(size))]
        if after_sid:
            query.append(("AfterSid", after_sid))
        return f"{base}?{urlencode(query)}"

    number = page.request.page
    return PageLinks(
        page=number,
        num_pages=page.num_pages,
        page_size=size,
        total=page.total,
        start=page.start,
        end=page.end,
        uri=uri(number, page.request.after_sid),
        first_page_uri=uri(0),
        previous_page_uri=uri(number - 1) if number > 0 else None,
        next_page_uri=uri(number + 1, last_sid) if page.has_more and last_sid else None,
        last_page_uri=uri(max(page.num_pages - 1, 0)),
    )


def parse_filters(list_filter: ListFilter, query: Mapping[str, str]) -> Filtering:
    """A list's filters from the raw query, or a 400 for a date the spec's pattern let through but that names no
    real day (`StartTime=2024-02-30`). The raw query, because connexion folds `StartTime>` into `StartTime`."""
    try:
        return list_filter.parse(query)
    except InvalidFilter as exc:
        raise errors.bad_request(str(exc)) from None

"""The paging envelope of every list (contract section 5): counts, positions and the links to follow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlencode

from calls.types import API_VERSION
from handlers import errors
from handlers.render import Fields, Format, PageLinks, render_list
from models.paging import Page, PageRequest, UnknownAnchor, fetch_page

API_PREFIX = f"/{API_VERSION}"


def links(
    fmt: Format, path: str, filters: Sequence[tuple[str, str]], page: Page, last_sid: str | None
) -> PageLinks:
    """`path` is the list's path below the API version, without suffix (`/Accounts/AC.../Calls`)."""
    base = f"{API_PREFIX}{path}{fmt.suffix}"
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


async def respond_with_page(
    fmt: Format,
    *,
    path: str,
    scope,
    filtered,
    request: PageRequest,
    filters: Sequence[tuple[str, str]] = (),
    json_key: str,
    xml_list_name: str,
    xml_item_name: str,
    fields_of: Callable[[object, Format], Fields],
    count: Callable[[], Awaitable[int]] | None = None,
):
    try:
        page = await fetch_page(scope, filtered, request, count)
    except UnknownAnchor:
        raise errors.not_found(f"AfterSid {request.after_sid} is not an item of this list") from None
    last_sid = page.items[-1].sid if page.items else None
    return render_list(
        fmt,
        json_key=json_key,
        xml_list_name=xml_list_name,
        xml_item_name=xml_item_name,
        links=links(fmt, path, filters, page, last_sid),
        items=[fields_of(item, fmt) for item in page.items],
    )

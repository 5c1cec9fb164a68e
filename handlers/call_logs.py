"""What a call's logs have in common (its Events, its SIP messages): rows the engine writes behind, read once what
is still waiting has been written, and listed under the call (GET Calls/{CallSid}/Events, .../SipMessages)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from tortoise.models import Model
from tortoise.queryset import QuerySet

from handlers.auth import authorize
from handlers.calls import find_call
from handlers.listing import Resource
from handlers.render import Format, Handler, twins
from models.paging import page_request


class WrittenBehind(Protocol):
    async def flush(self) -> None: ...


async def rows_of(log: WrittenBehind | None, model: type[Model], account_sid: str, call_sid: str) -> QuerySet:
    """The call's rows of `model`, once those `log` has not written yet are written (None: nothing records them)."""
    if log is not None:
        await log.flush()
    return model.filter(call_sid=call_sid, account_sid=account_sid)


def list_for_call(resource: Resource, segment: str,
                  rows: Callable[[str, str], Awaitable[Any]]) -> tuple[Handler, Handler]:
    """The JSON and XML handlers of the list Calls/{CallSid}/`segment`: `rows(account_sid, call_sid)`, paged."""

    async def listed(fmt: Format, AccountSid: str, CallSid: str, user: str, Page: int = 0, PageSize: int = 50,
                     AfterSid: str | None = None):
        _, account = await authorize(user, AccountSid)
        call = await find_call(account.sid, CallSid)
        return await resource.page(fmt, path=f"/Accounts/{account.sid}/Calls/{call.sid}/{segment}",
                                   scope=await rows(account.sid, call.sid),
                                   request=page_request(Page, PageSize, AfterSid))

    listed.__name__ = listed.__qualname__ = "list_for_call"
    return twins(listed)

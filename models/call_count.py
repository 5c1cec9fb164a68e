"""How many calls each account has in each status, kept exact by database triggers.

The Calls list reports `total`. Counting an account's million calls costs ~150 ms on PostgreSQL however
it is indexed; these counters make the unfiltered and Status-only totals a lookup. Triggers on `calls`
(installed by migration 0003, one version per database) keep them right whatever writes a call: the
engine, the API, a bulk load or an operator's SQL.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models import sids
from models.call import LIVE_STATUSES


class CallCount(Model):
    id = fields.IntField(primary_key=True)
    account_sid = fields.CharField(max_length=sids.SID_LENGTH)
    status = fields.CharField(max_length=16)
    total = fields.BigIntField(default=0)

    class Meta:
        table = "call_counts"
        unique_together = (("account_sid", "status"),)


async def total_calls(account_sid: str, status: str | None = None) -> int:
    """The number of the account's calls (in `status`), from the counters."""
    query = CallCount.filter(account_sid=account_sid)
    if status is not None:
        query = query.filter(status=status)
    return sum(await query.values_list("total", flat=True))


async def live_calls(account_sid: str) -> int:
    """The account's calls in a live status (queued, ringing, in progress) on every node, from the counters."""
    return await total_calls_in(account_sid, [status.value for status in LIVE_STATUSES])


async def total_calls_in(account_sid: str, statuses: list[str]) -> int:
    return sum(await CallCount.filter(account_sid=account_sid, status__in=statuses).values_list("total", flat=True))

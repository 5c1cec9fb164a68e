"""Call Events: each request the platform made to an application about a call, and what came back.

What makes "why did my application not get the callback" answerable: the RCML fetches (first, fallback, action,
redirect) and the status callbacks of a call, with URL, method, parameters, the response's status, content type
and the start of its body, how long it took, and the transport error when there was no response. Written in
batches (rcml/event_log.py) and kept for RESTCOMM_CALL_EVENTS_RETENTION hours.
"""

from __future__ import annotations

import datetime as dt

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models import sids


class CallEvent(Model):
    sid = fields.CharField(max_length=sids.SID_LENGTH, primary_key=True)
    account_sid = fields.CharField(max_length=sids.SID_LENGTH)
    call_sid = fields.CharField(max_length=sids.SID_LENGTH)
    date_created = fields.DatetimeField()
    # `rcml` (a document fetch) or `status-callback`.
    kind = fields.CharField(max_length=24)
    request_method = fields.CharField(max_length=8)
    request_url = fields.TextField()
    # The parameters sent, as a JSON object.
    request_parameters = fields.TextField(default="{}")
    response_status = fields.IntField(null=True)
    response_content_type = fields.CharField(max_length=128, null=True)
    # The first bytes of the body (rcml/event_log.py BODY_PREFIX), decoded leniently.
    response_body = fields.TextField(null=True)
    duration_ms = fields.IntField(default=0)
    error = fields.TextField(null=True)

    class Meta:
        table = "call_events"
        indexes = (
            Index(fields=("call_sid", "date_created", "sid"), name="call_events_call_page"),
            Index(fields=("date_created",), name="call_events_age"),
        )


async def save_batch(events: list[CallEvent]) -> None:
    if events:
        await CallEvent.bulk_create(events)


async def delete_older_than(cutoff: dt.datetime) -> int:
    return await CallEvent.filter(date_created__lt=cutoff).delete()

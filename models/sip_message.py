"""A call's SIP messages: each request and response of its dialog(s), sent or received, as it went on the wire.

What makes "why did this call fail" answerable below the webhooks: the INVITE, every provisional and final
response with its code and reason, the ACK, BYE, CANCEL, re-INVITEs and INFOs, with the peer's address and
the start of the message (credentials redacted). Written in batches (calls/sip_messages.py) and kept for
RESTCOMM_CALL_EVENTS_RETENTION hours, as Call Events are.
"""

from __future__ import annotations

import datetime as dt

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models import sids


class SipMessage(Model):
    # Its hex starts with the capture time in microseconds: messages of one millisecond list in wire order.
    sid = fields.CharField(max_length=sids.SID_LENGTH, primary_key=True)
    account_sid = fields.CharField(max_length=sids.SID_LENGTH)
    call_sid = fields.CharField(max_length=sids.SID_LENGTH)
    date_created = fields.DatetimeField()
    # `sent` or `received`.
    direction = fields.CharField(max_length=8)
    # `host:port` of the other end.
    peer = fields.CharField(max_length=64)
    sip_call_id = fields.CharField(max_length=256)
    cseq = fields.IntField(null=True)
    # The request's method, or the method a response answers.
    method = fields.CharField(max_length=16)
    status_code = fields.IntField(null=True)
    reason = fields.CharField(max_length=128, null=True)
    # Start line, headers and the start of the body (sip/wire.py SUMMARY_LIMIT), credentials redacted.
    summary = fields.TextField()

    class Meta:
        table = "sip_messages"
        indexes = (
            Index(fields=("call_sid", "date_created", "sid"), name="sip_messages_call_page"),
            Index(fields=("date_created",), name="sip_messages_age"),
        )


async def save_batch(messages: list[SipMessage]) -> None:
    if messages:
        await SipMessage.bulk_create(messages)


async def delete_older_than(cutoff: dt.datetime) -> int:
    return await SipMessage.filter(date_created__lt=cutoff).delete()

"""Inline TwiML (`Twiml=` on a Twilio-dialect create or update): the document a call runs instead of fetching one.

Stored rather than carried in the call's Url because a document may be 4,000 characters and the Url column
holds 2,048; the call's Url becomes `twiml:<sid>` (rcml/documents.py reads it back). Rows go with their call's
events retention (rcml/event_log.py).
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models import clock, sids

SCHEME = "twiml:"


class TwimlDocument(Model):
    sid = fields.CharField(max_length=sids.SID_LENGTH, primary_key=True)
    account_sid = fields.CharField(max_length=sids.SID_LENGTH)
    date_created = fields.DatetimeField()
    body = fields.TextField()

    class Meta:
        table = "twiml_documents"


async def store(account_sid: str, body: str) -> str:
    """Stores the document; the URL a call's Source gives to run it."""
    document = await TwimlDocument.create(sid=sids.new_sid(sids.TWIML), account_sid=account_sid,
                                          date_created=clock.now(), body=body)
    return SCHEME + document.sid


async def load(url: str) -> str | None:
    return await TwimlDocument.filter(sid=url.removeprefix(SCHEME)).first().values_list("body", flat=True)

"""IncomingPhoneNumbers: the numbers an account answers, each with the application its calls run."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models import sids

PHONE_NUMBER_MAX = 32


class IncomingPhoneNumber(Model):
    sid = fields.CharField(max_length=sids.SID_LENGTH, primary_key=True)
    account_sid = fields.CharField(max_length=sids.SID_LENGTH)
    date_created = fields.DatetimeField()
    date_updated = fields.DatetimeField()
    friendly_name = fields.CharField(max_length=64)
    # As given, with or without a leading +; one number belongs to one account on this server.
    phone_number = fields.CharField(max_length=PHONE_NUMBER_MAX, unique=True)
    voice_url = fields.CharField(max_length=2048, null=True)
    voice_method = fields.CharField(max_length=8, default="POST")
    voice_fallback_url = fields.CharField(max_length=2048, null=True)
    voice_fallback_method = fields.CharField(max_length=8, default="POST")
    status_callback = fields.CharField(max_length=2048, null=True)
    status_callback_method = fields.CharField(max_length=8, default="POST")
    # The dialect the number was created through: the ApiVersion (and parameters) of its calls' webhooks.
    api_version = fields.CharField(max_length=10, default="2012-04-24")

    class Meta:
        table = "incoming_phone_numbers"
        indexes = (Index(fields=("account_sid", "date_created", "sid"), name="numbers_account_page"),)


def number_variants(dialed: str) -> list[str]:
    """The spellings an inbound Request-URI user may match: with and without the leading +.

    Only those a number can have: a longer one (a 63-character client login, a hostile Request-URI) matches
    nothing, and Tortoise refuses to put it in a query at all.
    """
    bare = dialed.lstrip("+")
    return [spelling for spelling in (bare, "+" + bare) if len(spelling) <= PHONE_NUMBER_MAX] if bare else []

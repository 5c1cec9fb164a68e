"""Notifications: one row for each thing that went wrong in a call, with enough to debug it."""

from __future__ import annotations

from enum import IntEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models import sids


class LogLevel(IntEnum):
    ERROR = 0
    WARNING = 1


class Notification(Model):
    sid = fields.CharField(max_length=sids.SID_LENGTH, primary_key=True)
    account_sid = fields.CharField(max_length=sids.SID_LENGTH)
    call_sid = fields.CharField(max_length=sids.SID_LENGTH, null=True)
    date_created = fields.DatetimeField()
    date_updated = fields.DatetimeField()
    log = fields.IntField(default=LogLevel.ERROR.value)
    error_code = fields.IntField()
    more_info = fields.CharField(max_length=255, default="")
    message_text = fields.TextField()
    message_date = fields.DatetimeField()
    request_url = fields.CharField(max_length=2048, default="")
    request_method = fields.CharField(max_length=8, default="")
    request_variables = fields.TextField(default="")
    response_headers = fields.TextField(default="")
    # Trimmed: enough of the body to see what the application answered.
    response_body = fields.TextField(default="")

    class Meta:
        table = "notifications"
        indexes = (
            Index(fields=("account_sid", "date_created", "sid"), name="notifications_account_page"),
            Index(fields=("call_sid", "date_created", "sid"), name="notifications_call_page"),
        )

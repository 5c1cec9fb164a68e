"""Conference rooms (`<Dial><Conference>`) and who is in them, as the API lists them."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models import sids


class ConferenceStatus(StrEnum):
    # Waiting for a participant who starts it (startConferenceOnEnter), then talking, then over.
    INIT = "init"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"


class Conference(Model):
    sid = fields.CharField(max_length=sids.SID_LENGTH, primary_key=True)
    account_sid = fields.CharField(max_length=sids.SID_LENGTH)
    # The room name from the RCML; one live room per name and account.
    friendly_name = fields.CharField(max_length=128)
    status = fields.CharField(max_length=16, default=ConferenceStatus.INIT.value)
    date_created = fields.DatetimeField()
    date_updated = fields.DatetimeField()
    owner_node = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "conferences"
        indexes = (
            Index(fields=("account_sid", "date_created", "sid"), name="conferences_account_page"),
            Index(fields=("account_sid", "friendly_name", "status"), name="conferences_account_name"),
        )


class Participant(Model):
    """A call in a conference right now: the row goes when the call leaves.

    Keyed by the call's SID, as the API names a participant (a call is in one conference at most).
    """

    sid = fields.CharField(max_length=sids.SID_LENGTH, primary_key=True)
    conference_sid = fields.CharField(max_length=sids.SID_LENGTH)
    account_sid = fields.CharField(max_length=sids.SID_LENGTH)
    muted = fields.BooleanField(default=False)
    start_conference_on_enter = fields.BooleanField(default=True)
    end_conference_on_exit = fields.BooleanField(default=False)
    date_created = fields.DatetimeField()
    date_updated = fields.DatetimeField()

    class Meta:
        table = "participants"
        indexes = (Index(fields=("conference_sid", "date_created", "sid"), name="participants_page"),)

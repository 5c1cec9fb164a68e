"""Recordings made during calls; the audio lives in a file, the row describes it."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models import sids


class Recording(Model):
    sid = fields.CharField(max_length=sids.SID_LENGTH, primary_key=True)
    account_sid = fields.CharField(max_length=sids.SID_LENGTH)
    call_sid = fields.CharField(max_length=sids.SID_LENGTH)
    date_created = fields.DatetimeField()
    date_updated = fields.DatetimeField()
    # Seconds, to the millisecond.
    duration = fields.FloatField(default=0.0)
    # Path of the WAV file, relative to the recordings directory.
    file_name = fields.CharField(max_length=255)
    # 1, or 2 for a whole-call recording with RecordingChannels=dual (inbound left, outbound right).
    channels = fields.SmallIntField(default=1)
    # Twilio's RecordingSource: RecordVerb (<Record>), DialVerb (<Dial record>), OutboundAPI (Record=true).
    source = fields.CharField(max_length=32, default="RecordVerb")
    # When the audio starts (the answer, for a whole call); None: at date_created (rows before 0015).
    start_time = fields.DatetimeField(null=True)

    class Meta:
        table = "recordings"
        indexes = (
            Index(fields=("account_sid", "date_created", "sid"), name="recordings_account_page"),
            Index(fields=("call_sid", "date_created", "sid"), name="recordings_call_page"),
        )

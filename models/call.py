"""The Call record: one row per call leg, what the API lists and the engine updates."""

from __future__ import annotations

import functools
from enum import StrEnum
from typing import Any

from tortoise import connections, fields
from tortoise.indexes import Index
from tortoise.models import Model

from models import sids, sqlite_reads
from models.notification import Notification
from models.sip_message import SipMessage


class CallStatus(StrEnum):
    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"


LIVE_STATUSES = frozenset({CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS})
# In a fixed order: it is part of a statement built once (`update_call`).
_LIVE_VALUES = sorted(status.value for status in LIVE_STATUSES)


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND_API = "outbound-api"
    OUTBOUND_DIAL = "outbound-dial"


class HttpMethod(StrEnum):
    GET = "GET"
    POST = "POST"


class Call(Model):
    sid = fields.CharField(max_length=sids.SID_LENGTH, primary_key=True)
    account_sid = fields.CharField(max_length=sids.SID_LENGTH)
    parent_call_sid = fields.CharField(max_length=sids.SID_LENGTH, null=True)
    date_created = fields.DatetimeField()
    date_updated = fields.DatetimeField()
    # What the API shows as `to`/`from`: a number, a client name, or the user part of a SIP URI.
    to_address = fields.CharField(max_length=1024)
    from_address = fields.CharField(max_length=256)
    # Where the call goes, as given (`sip:alice@host:5060`, `client:alice`, `+1555...`), without headers.
    destination = fields.CharField(max_length=1024, default="")
    # Extra SIP headers for the INVITE, from the text after `?` in `To` (`X-Foo=1&X-Bar=2`).
    sip_headers = fields.TextField(default="")
    phone_number_sid = fields.CharField(max_length=sids.SID_LENGTH, null=True)
    status = fields.CharField(max_length=16)
    start_time = fields.DatetimeField(null=True)
    end_time = fields.DatetimeField(null=True)
    duration = fields.IntField(null=True)
    # When it was answered: written with in-progress (the same UPDATE), so that a survivor closing the call of
    # a dead node (calls/cluster/reaper.py) gives it its real duration. Not in the API (start_time is).
    answered_at = fields.DatetimeField(null=True)
    price = fields.CharField(max_length=16, null=True)
    price_unit = fields.CharField(max_length=8, null=True)
    direction = fields.CharField(max_length=16)
    # Answering machine detection: `human` or `machine` (what RestComm documents), and the result as Twilio
    # names it (`machine_end_beep`...): too long for answered_by, whose width a migration cannot change on
    # SQLite without rebuilding the table and losing 0003's triggers.
    answered_by = fields.CharField(max_length=16, null=True)
    answered_by_detail = fields.CharField(max_length=24, null=True)
    # Set by the API's Mute: the parties the call is connected to do not hear it (RestComm's CDR `muted`).
    muted = fields.BooleanField(default=False)
    # The dialect the call was made through (`2012-04-24` RestComm, `2010-04-01` Twilio): the version its
    # webhooks announce and the parameters they carry. A <Dial> leg takes its parent's.
    api_version = fields.CharField(max_length=10, default="2012-04-24")
    forwarded_from = fields.CharField(max_length=256, null=True)
    caller_name = fields.CharField(max_length=256, null=True)
    # The application: where its RCML comes from, and where progress is reported.
    url = fields.CharField(max_length=2048, default="")
    method = fields.CharField(max_length=8, default=HttpMethod.POST.value)
    fallback_url = fields.CharField(max_length=2048, null=True)
    fallback_method = fields.CharField(max_length=8, default=HttpMethod.POST.value)
    status_callback = fields.CharField(max_length=2048, null=True)
    status_callback_method = fields.CharField(max_length=8, default=HttpMethod.POST.value)
    # Subscribed status-callback events, comma-separated (`initiated,ringing,answered,completed`).
    status_callback_event = fields.CharField(max_length=64, default="completed")
    timeout = fields.IntField(default=60)
    # The server process that owns this live call; commands for it are delivered there.
    owner_node = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "calls"
        # Every list filter starts from the account and pages newest first; each index below serves one
        # filter and then the keyset order (date_created, sid) without a sort.
        indexes = (
            Index(fields=("account_sid", "date_created", "sid"), name="calls_account_page"),
            Index(fields=("account_sid", "from_address", "date_created", "sid"), name="calls_account_from"),
            Index(fields=("account_sid", "to_address", "date_created", "sid"), name="calls_account_to"),
            Index(fields=("account_sid", "status", "date_created", "sid"), name="calls_account_status"),
            # From (or To) with Status: the count reads the index alone, without visiting the table.
            Index(fields=("account_sid", "from_address", "status", "date_created", "sid"),
                  name="calls_account_from_status"),
            Index(fields=("account_sid", "to_address", "status", "date_created", "sid"),
                  name="calls_account_to_status"),
            Index(fields=("account_sid", "start_time"), name="calls_account_start"),
            Index(fields=("account_sid", "end_time"), name="calls_account_end"),
            Index(fields=("parent_call_sid", "date_created", "sid"), name="calls_parent"),
        )

    @property
    def is_live(self) -> bool:
        return CallStatus(self.status) in LIVE_STATUSES

    @classmethod
    async def of_account(cls, sid: str, account_sid: str) -> Call | None:
        """The call `sid` if it belongs to `account_sid`: the API's hottest query, so its SQL is built once.

        Building it with the query builder on every request costs more than running it.
        """
        connection = connections.get(cls._meta.default_connection or "default")
        sql = _ONE_CALL_SQL.get(connection.capabilities.dialect)
        if sql is None:
            sql = cls.filter(sid="", account_sid="").limit(1).sql()
            _ONE_CALL_SQL[connection.capabilities.dialect] = sql
        row = await sqlite_reads.fetch_one(connection, sql, [sid, account_sid, 1], _timestamp_columns(cls))
        return cls._init_from_db(**row) if row is not None else None


_ONE_CALL_SQL: dict[str, str] = {}


@functools.cache
def _timestamp_columns(model: type[Model]) -> frozenset[str]:
    return frozenset(field.source_field or name for name, field in model._meta.fields_map.items()
                     if isinstance(field, fields.DatetimeField))


async def update_call(sid: str, fields: dict[str, Any], *, live_only: bool) -> int:
    """`UPDATE calls SET <fields> WHERE sid = <sid>`, only while the call is live if `live_only`; the rows
    changed as the driver counts them (0 when the call was not changed; SQLite adds rows its triggers changed).

    The call engine's writes: the same few statements for every call. The query builder took longer to
    build each one than the database to run it (0.25 ms of CPU per UPDATE against 0.11 ms with the SQL
    built once), so each statement is built once per set of fields and run with the values converted as
    the query builder would.
    """
    def built() -> Any:
        query = Call.filter(sid=sid)
        return query.filter(status__in=_LIVE_VALUES) if live_only else query

    if any(value is None for value in fields.values()):
        # The builder writes a None as NULL rather than as a parameter: such a statement cannot be reused.
        return await built().update(**fields)
    connection = connections.get(Call._meta.default_connection or "default")
    key = (connection.capabilities.dialect, tuple(fields), live_only)
    sql = _UPDATE_SQL.get(key)
    if sql is None:
        # The query builder runs only the first time: building it costs more than running the statement.
        sql = _UPDATE_SQL[key] = built().update(**fields).sql()
    fields_map = Call._meta.fields_map
    parameters = [fields_map[name].to_db_value(value, None) for name, value in fields.items()]
    parameters.append(sid)
    if live_only:
        parameters.extend(_LIVE_VALUES)
    changed, _ = await connection.execute_query(sql, parameters)
    return changed


_UPDATE_SQL: dict[tuple[str, tuple[str, ...], bool], str] = {}


async def delete_ended_call(sid: str) -> bool:
    """Deletes an ended call's row, its notifications and SIP messages; False when the call is live (or gone)."""
    deleted = await Call.filter(sid=sid).exclude(status__in=_LIVE_VALUES).delete()
    if deleted:
        await Notification.filter(call_sid=sid).delete()
        await SipMessage.filter(call_sid=sid).delete()
    return bool(deleted)

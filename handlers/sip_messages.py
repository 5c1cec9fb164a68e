"""A call's SIP messages (GET Calls/{CallSid}/SipMessages): each request and response of its dialogs, sent or
received, newest first, as calls/sip_messages.py stored them. The RestComm dialect only: Twilio has no such
resource, and its SDKs would have no use for one."""

from __future__ import annotations

from handlers import call_logs, context
from handlers.listing import Resource
from handlers.render import Field, Fields, Format
from models import clock
from models.sip_message import SipMessage


def message_fields(message: SipMessage, _fmt: Format) -> Fields:
    return [
        Field("sid", "Sid", message.sid),
        Field("account_sid", "AccountSid", message.account_sid),
        Field("call_sid", "CallSid", message.call_sid),
        Field("date_created", "DateCreated", clock.iso(message.date_created)),
        Field("direction", "Direction", message.direction),
        Field("peer", "Peer", message.peer),
        Field("method", "Method", message.method),
        Field("status_code", "StatusCode", message.status_code),
        Field("reason", "Reason", message.reason),
        Field("cseq", "CSeq", message.cseq),
        Field("sip_call_id", "SipCallId", message.sip_call_id),
        Field("summary", "Summary", message.summary),
    ]


SIP_MESSAGES = Resource("sip_messages", "SipMessages", "SipMessage", message_fields)


async def messages_of(account_sid: str, call_sid: str):
    """The call's messages, once the ones captured and not yet written are written."""
    return await call_logs.rows_of(context.current().engine.sip_messages, SipMessage, account_sid, call_sid)


list_for_call_json, list_for_call_xml = call_logs.list_for_call(SIP_MESSAGES, "SipMessages", messages_of)

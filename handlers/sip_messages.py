"""A call's SIP messages (GET Calls/{CallSid}/SipMessages): each request and response of its dialogs, sent or
received, newest first, as calls/sip_messages.py stored them. The RestComm dialect only: Twilio has no such
resource, and its SDKs would have no use for one."""

from __future__ import annotations

from handlers import context
from handlers.auth import authorize
from handlers.calls import find_call
from handlers.listing import Resource
from handlers.render import Field, Fields, Format, twins
from models import clock
from models.paging import page_request
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
    log = context.current().engine.sip_messages
    if log is not None:
        await log.flush()
    return SipMessage.filter(call_sid=call_sid, account_sid=account_sid)


async def list_for_call(fmt: Format, AccountSid: str, CallSid: str, user: str, Page: int = 0,
                        PageSize: int = 50, AfterSid: str | None = None):
    _, account = await authorize(user, AccountSid)
    call = await find_call(account.sid, CallSid)
    scope = await messages_of(account.sid, call.sid)
    return await SIP_MESSAGES.page(fmt, path=f"/Accounts/{account.sid}/Calls/{call.sid}/SipMessages", scope=scope,
                                   request=page_request(Page, PageSize, AfterSid))


list_for_call_json, list_for_call_xml = twins(list_for_call)

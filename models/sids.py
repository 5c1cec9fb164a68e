"""Resource identifiers: a two-letter type prefix and 32 lowercase hex digits, as RestComm and Twilio write them."""

from __future__ import annotations

import uuid

ACCOUNT = "AC"
CALL = "CA"
RECORDING = "RE"
NOTIFICATION = "NO"
CLIENT = "CL"
PHONE_NUMBER = "PN"
CONFERENCE = "CF"
# Not Twilio resources, but rows the Twilio dialect keeps: a call event, an inline TwiML document.
CALL_EVENT = "EV"
TWIML = "TW"
# A call's SIP message (Calls/{CallSid}/SipMessages), a resource of this server only.
SIP_MESSAGE = "SG"

SID_LENGTH = 34


def new_sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex

"""calls/sip_messages.py and sip/wire.py without a network: which captured messages become a call's rows."""

from __future__ import annotations

import time

from calls import sip_messages
from calls.sip_messages import SipMessageLog
from sip import wire

INVITE = ("INVITE sip:alice@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKa\r\n"
          "Call-ID: {call_id}\r\nCSeq: 2 INVITE\r\nAuthorization: Digest username=\"alice\", "
          "response=\"0123456789abcdef0123456789abcdef\"\r\nContent-Length: 0\r\n\r\n")
RINGING = "SIP/2.0 180 Ringing\r\ni: {call_id}\r\nCSeq: 2 INVITE\r\nContent-Length: 0\r\n\r\n"
REGISTER = "REGISTER sip:127.0.0.1 SIP/2.0\r\nCall-ID: {call_id}\r\nCSeq: 1 REGISTER\r\n\r\n"
OPTIONS_OK = "SIP/2.0 200 OK\r\nCall-ID: {call_id}\r\nCSeq: 7 OPTIONS\r\n\r\n"
SENT = "SENDING message to 127.0.0.1:5070:\n"
RECEIVED = "RECEIVED message from udp:127.0.0.1:5070:\n"


def captured(log: SipMessageLog, prefix: str, template: str, call_id: str, at: float | None = None) -> None:
    log.tap.capture(time.time() if at is None else at, prefix, template.format(call_id=call_id).encode())


def test_a_message_captured_before_its_dialog_is_followed_is_kept_and_read():
    log = SipMessageLog(wire.WireTap())
    captured(log, SENT, INVITE, "one@host")
    assert log._collect() == []  # nobody follows it yet: it waits
    log._followers["one@host"] = sip_messages._Follower("AC1", "CA1")
    captured(log, RECEIVED, RINGING, "one@host")
    invite, ringing = log._collect()
    assert (invite.direction, invite.method, invite.status_code, invite.peer, invite.cseq) == (
        "sent", "INVITE", None, "127.0.0.1:5070", 2)
    assert (ringing.direction, ringing.method, ringing.status_code, ringing.reason) == (
        "received", "INVITE", 180, "Ringing")
    assert invite.sid < ringing.sid and invite.sid.startswith("SG") and len(invite.sid) == 34
    assert "Authorization: [redacted]" in invite.summary and "0123456789abcdef" not in invite.summary
    assert (invite.call_sid, invite.account_sid, invite.sip_call_id) == ("CA1", "AC1", "one@host")


def test_messages_no_call_follows_are_dropped_after_the_hold_and_register_options_never_read():
    log = SipMessageLog(wire.WireTap())
    captured(log, RECEIVED, INVITE, "stray@host", at=time.time() - sip_messages.HOLD_S - 1)
    captured(log, RECEIVED, REGISTER, "reg@host")
    captured(log, SENT, OPTIONS_OK, "ping@host")
    assert log._collect() == [] and log._waiting == []


def test_a_call_stores_at_most_max_per_call_messages():
    log = SipMessageLog(wire.WireTap())
    log._followers["busy@host"] = sip_messages._Follower("AC1", "CA1")
    for _ in range(sip_messages.MAX_PER_CALL + 3):
        captured(log, RECEIVED, RINGING, "busy@host")
    assert len(log._collect()) == sip_messages.MAX_PER_CALL and log.dropped == 3


def test_a_released_call_is_followed_for_the_linger_then_forgotten(monkeypatch):
    log = SipMessageLog(wire.WireTap())
    log._followers["done@host"] = sip_messages._Follower("AC1", "CA1")
    log._by_call["CA1"] = ["done@host"]
    log.release("CA1")
    log._expire()
    assert "done@host" in log._followers  # the 200 to a BYE still comes
    now = time.monotonic()
    monkeypatch.setattr(sip_messages.time, "monotonic", lambda: now + sip_messages.LINGER_S + 1)
    log._expire()
    assert "done@host" not in log._followers

"""Calls we receive, from sipp playing the caller: what the engine is told and what sipp saw on the wire."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from sip.events import Dtmf, Ended
from sip.legs import InboundLeg
from sip.stack import SipStack
from testkit.sip_driver import Handler, sdp_offer
from testkit.sipp import messages
from tests.sip.by_hand import sip_message, udp_socket
from tests.support.sipp import Sipp


def caller(scenario: str, workdir: Path, stack: SipStack, **kwargs: object) -> Sipp:
    args = ["-s", "bob", *kwargs.pop("args", [])]  # type: ignore[misc]
    return Sipp(scenario, workdir, target=stack.address, args=args, **kwargs)  # type: ignore[arg-type]


async def ring(leg: InboundLeg) -> None:
    await leg.ring()


def _answer_to(request: str, code: int, reason: str, *, to_tag: str, port: int, body: str = "") -> bytes:
    """Our response to one of sipp's requests, from a callee at 127.0.0.1:`port`."""
    found = [re.search(rf"^{name}:.*$", request, re.MULTILINE | re.IGNORECASE)
             for name in ("Via", "From", "To", "Call-ID", "CSeq")]
    heads = [match.group(0).rstrip() for match in found if match is not None]
    heads[2] += f";tag={to_tag}"
    lines = [f"SIP/2.0 {code} {reason}", *heads, f"Contact: <sip:bob@127.0.0.1:{port}>"]
    return sip_message(lines, body)


@pytest.mark.parametrize("bye_first", [False, True], ids=["bye-after-the-ack", "bye-before-the-200"])
async def test_the_caller_takes_our_bye_before_it_sends_its_info(workdir: Path, bye_first: bool) -> None:
    # An application that hangs up at once (<Hangup/>) has our BYE leave as soon as the caller's ACK is in, even
    # straight after our 200 OK when the SIP thread was starved. sipp reads its socket between its two sends
    # (ACK, then INFO), took the BYE at the INFO step and aborted the call ("unexpected BYE", CI under load).
    # Played by hand here, so it happens every time; a BYE before our 200 OK must still fail the call.
    loop = asyncio.get_running_loop()
    with udp_socket() as (callee, port):

        async def receive(method: str) -> tuple[str, tuple[str, int]]:
            while True:
                data, source = await loop.sock_recvfrom(callee, 65535)
                if data.decode().startswith(method):
                    return data.decode(), source

        async with Sipp("uac_answered.xml", workdir, target=("127.0.0.1", port), args=["-s", "bob"]) as sipp:
            async with asyncio.timeout(5):
                invite, source = await receive("INVITE ")
                contact = re.search(r"^Contact:\s*<([^>]+)>", invite, re.MULTILINE | re.IGNORECASE)
                assert contact is not None, invite
                frm = re.search(r"^From:\s*(.*)$", invite, re.MULTILINE | re.IGNORECASE)
                to = re.search(r"^To:\s*(.*)$", invite, re.MULTILINE | re.IGNORECASE)
                call_id = re.search(r"^Call-ID:\s*(.*)$", invite, re.MULTILINE | re.IGNORECASE)
                assert frm and to and call_id, invite
                bye = (f"BYE {contact.group(1).strip()} SIP/2.0\r\n"
                       f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKbye1\r\nMax-Forwards: 70\r\n"
                       f"From: {to.group(1).strip()};tag=callee\r\nTo: {frm.group(1).strip()}\r\n"
                       f"Call-ID: {call_id.group(1).strip()}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n").encode()
                for code, reason in ((100, "Trying"), (180, "Ringing")):
                    await loop.sock_sendto(callee, _answer_to(invite, code, reason, to_tag="callee", port=port),
                                           source)
                ok = _answer_to(invite, 200, "OK", to_tag="callee", port=port, body=sdp_offer())
                if bye_first:
                    await loop.sock_sendto(callee, bye, source)
                    await loop.sock_sendto(callee, ok, source)
                else:
                    await loop.sock_sendto(callee, ok, source)
                    await receive("ACK ")
                    await loop.sock_sendto(callee, bye, source)  # at once, before sipp's INFO
            rc = await sipp.wait()
    if bye_first:
        assert rc != 0, sipp.explain()
    else:
        assert rc == 0, sipp.explain()


async def test_answered_with_dtmf_then_we_hang_up(stack: SipStack, handler: Handler, workdir: Path) -> None:
    handler.on_new_call = ring
    async with caller("uac_answered.xml", workdir, stack) as sipp:
        call = await handler.next_call()
        leg = call.leg
        assert (leg.request_user, leg.to_user, leg.from_user, leg.from_display) == (
            "bob", "bob", "+15550001111", "Alice Caller")
        assert leg.source == ("127.0.0.1", sipp.port)
        assert leg.headers["X-Ticket"] == "42" and leg.headers["x-ticket"] == "42"
        assert leg.headers["Diversion"].startswith("<sip:+15550002222@127.0.0.1>")
        assert leg.headers["Call-ID"] == leg.call_id
        assert leg.sdp_offer is not None and "m=audio" in leg.sdp_offer
        await leg.answer(sdp_offer(41000))
        assert await call.log.wait_for(Dtmf) == Dtmf("5", 160)
        await leg.hangup()
        assert await call.log.terminal() == Ended(by_remote=False)
        assert await sipp.wait() == 0, sipp.explain()
    statuses = [message.splitlines()[0] for message in sipp.received()]
    assert statuses == ["SIP/2.0 100 Trying", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK", "SIP/2.0 200 OK",
                        f"BYE sip:sipp@127.0.0.1:{sipp.port};transport=udp SIP/2.0"]
    assert "m=audio 41000 RTP/AVP" in sipp.received()[2]


async def test_a_hangup_before_the_ack_ends_the_leg_and_byes_after_the_ack(
        stack: SipStack, handler: Handler, workdir: Path) -> None:
    # RFC 3261 section 15: no BYE before the ACK to our 200. The leg ends for its owner at once; the BYE waits.
    handler.on_new_call = ring
    fill = {"ack_delay_ms": "2500", "bye_timeout_ms": "10000"}
    async with caller("uac_late_ack.xml", workdir, stack, fill=fill) as sipp:
        call = await handler.next_call()
        await call.leg.answer(sdp_offer())
        await call.leg.hangup()
        assert await call.log.terminal() == Ended(by_remote=False)
        assert "ACK " not in sipp.messages  # ended while the caller still holds its ACK (2.5 s)
        assert await sipp.wait() == 0, sipp.explain()
    assert call.log.kinds() == ["Ended"]  # no Confirmed after the end
    trace = [("->" if message.received else "<-") + " " + message.first_line.split(" sip:")[0]
             for message in messages(sipp.message_file)]
    bye = trace.index("-> BYE")
    assert "<- ACK" in trace[:bye] and "-> BYE" not in trace[bye + 1:], trace


async def test_answered_then_the_caller_hangs_up(stack: SipStack, handler: Handler, workdir: Path) -> None:
    async with caller("uac", workdir, stack, args=["-d", "100"]) as sipp:
        call = await handler.next_call()
        await call.leg.answer(sdp_offer())
        assert await call.log.terminal() == Ended(by_remote=True)
        assert await sipp.wait() == 0, sipp.explain()
        await call.leg.hangup()  # nothing left to end
    assert sipp.received()[-1].startswith("SIP/2.0 200 OK")


@pytest.mark.parametrize(("code", "reason"), [(486, "Busy Here"), (603, "Decline")])
async def test_rejected(stack: SipStack, handler: Handler, workdir: Path, code: int, reason: str) -> None:
    async with caller("uac_rejected.xml", workdir, stack, fill={"code": str(code)}) as sipp:
        call = await handler.next_call()
        await call.leg.reject(code, reason)
        assert await call.log.terminal() == Ended(by_remote=False)
        assert await sipp.wait() == 0, sipp.explain()
    assert sipp.received()[-1].startswith(f"SIP/2.0 {code} {reason}")


async def test_hangup_before_answer_is_487(stack: SipStack, handler: Handler, workdir: Path) -> None:
    handler.on_new_call = ring
    async with caller("uac_rejected.xml", workdir, stack, fill={"code": "487"}) as sipp:
        call = await handler.next_call()
        await call.leg.hangup()
        assert await call.log.terminal() == Ended(by_remote=False)
        assert await sipp.wait() == 0, sipp.explain()
    assert sipp.received()[-1].startswith("SIP/2.0 487 Request Terminated")


async def test_a_failing_handler_answers_500(stack: SipStack, handler: Handler, workdir: Path) -> None:
    async def explode(leg: InboundLeg) -> None:
        raise RuntimeError("the engine broke")

    handler.on_new_call = explode
    async with caller("uac_rejected.xml", workdir, stack, fill={"code": "500"}) as sipp:
        assert await sipp.wait() == 0, sipp.explain()
    assert sipp.received()[-1].startswith("SIP/2.0 500 Server Internal Error")


async def test_caller_cancels_while_ringing(stack: SipStack, handler: Handler, workdir: Path) -> None:
    handler.on_new_call = ring
    handler.sink_later = True
    async with caller("uac_cancel.xml", workdir, stack) as sipp:
        call = await handler.next_call()
        assert await sipp.wait() == 0, sipp.explain()
        # The CANCEL came and went before anyone listened: its Ended is held, then delivered on the loop.
        call.leg.set_event_sink(call.log)
        assert call.log.events == []
        assert await call.log.terminal() == Ended(by_remote=True)
        await call.leg.answer(sdp_offer())  # too late: does nothing
        await asyncio.sleep(0.1)
    assert [message.splitlines()[0] for message in sipp.received()] == [
        "SIP/2.0 100 Trying", "SIP/2.0 180 Ringing", "SIP/2.0 200 OK", "SIP/2.0 487 Request Terminated"]
    assert call.log.kinds() == ["Ended"]


async def test_requests_outside_a_dialog(stack: SipStack, workdir: Path) -> None:
    async with caller("uac_out_of_dialog.xml", workdir, stack) as sipp:
        assert await sipp.wait() == 0, sipp.explain()
    assert [message.splitlines()[0] for message in sipp.received()] == [
        "SIP/2.0 200 OK", "SIP/2.0 481 Call/Transaction Does Not Exist", "SIP/2.0 405 Method Not Allowed",
        "SIP/2.0 501 Not Implemented"]

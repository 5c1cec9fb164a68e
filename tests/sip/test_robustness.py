"""Malformed SIP must neither crash the stack nor reach stdout: a thousand bad datagrams, then normal calls."""

from __future__ import annotations

import asyncio
import random
import socket
from pathlib import Path

import pytest

from sip.events import Answered, Dtmf, Ended
from sip.legs import InboundLeg
from sip.stack import SipStack
from testkit.sip_driver import Handler, place, sdp_offer
from tests.support.sipp import Sipp

INVITE = (
    "INVITE sip:bob@{host}:{port} SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:{src};branch=z9hG4bK-{n}\r\n"
    "From: <sip:junk@127.0.0.1>;tag={n}\r\n"
    "To: <sip:bob@{host}:{port}>\r\n"
    "Call-ID: junk-{n}@127.0.0.1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:junk@127.0.0.1:{src}>\r\n"
    "Max-Forwards: 70\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: {length}\r\n"
    "\r\n"
)


def malformed(count: int, host: str, port: int, src: int) -> list[bytes]:
    """Garbage, truncated INVITEs, huge headers, lying Content-Lengths, non-UTF-8, broken headers."""
    rng = random.Random(5060)
    body = sdp_offer()
    datagrams: list[bytes] = []
    for n in range(count):
        kind = n % 8
        whole = INVITE.format(host=host, port=port, src=src, n=n, length=len(body)) + body
        if kind == 0:
            datagrams.append(rng.randbytes(rng.randint(1, 1400)))
        elif kind == 1:
            datagrams.append(whole.encode()[: rng.randint(1, len(whole) - 1)])
        elif kind == 2:
            huge = whole.replace("Max-Forwards: 70\r\n", "X-Huge: " + "a" * 60000 + "\r\n")
            datagrams.append(huge.encode())
        elif kind == 3:
            length = rng.choice(["99999", "-5", "abc", "", "1e3", str(len(body) + 40)])
            datagrams.append(whole.replace(f"Content-Length: {len(body)}", f"Content-Length: {length}").encode())
        elif kind == 4:
            datagrams.append(whole.encode().replace(b"junk", b"\xff\xfe\xc3(") + rng.randbytes(8))
        elif kind == 5:
            line = rng.choice(["Via", "From", "To", "CSeq", "Call-ID", "Contact"])
            broken = "\r\n".join(row for row in whole.split("\r\n") if not row.startswith(line + ":"))
            datagrams.append(broken.encode())
        elif kind == 6:
            mangled = rng.choice([("CSeq: 1 INVITE", "CSeq: x INVITE"), ("SIP/2.0\r\nVia", "HTTP/1.1\r\nVia"),
                                  ("To: <sip:bob", "To: <<<<"), ("Via: SIP/2.0/UDP", "Via: ;;;;"),
                                  ("INVITE sip:", "INVITE "), ("From: <sip:", 'From: "unterminated <sip:')])
            datagrams.append(whole.replace(*mangled).encode())
        else:
            status = rng.choice(["SIP/2.0 99999 Nope", "SIP/2.0 200", "SIP/2.0 abc OK", "SIP/2.0 180 Ringing"])
            datagrams.append((status + "\r\n" + whole.split("\r\n", 1)[1]).encode())
    return datagrams


async def test_a_thousand_malformed_datagrams_then_calls_still_work(
        stack: SipStack, handler: Handler, workdir: Path, capfd: pytest.CaptureFixture[str]) -> None:
    caller = Sipp("uac_answered.xml", workdir, target=stack.address, args=["-s", "bob"])

    async def sort(leg: InboundLeg) -> None:
        # Some truncated INVITEs are still readable and arrive as calls: refuse everything but sipp's.
        if leg.source[1] != caller.port:
            await leg.reject(603, "Decline")
        else:
            await leg.ring()

    handler.on_new_call = sort
    host, port = stack.address
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.bind(("127.0.0.1", 0))
        for datagram in malformed(1000, host, port, sender.getsockname()[1]):
            sender.sendto(datagram, stack.address)
            await asyncio.sleep(0)
    await asyncio.sleep(0.3)

    async with caller:
        while (call := await handler.next_call()).leg.source[1] != caller.port:
            pass
        await call.leg.answer(sdp_offer())
        await call.log.wait_for(Dtmf)
        await call.leg.hangup()
        assert await call.log.terminal() == Ended(by_remote=False)
        assert await caller.wait() == 0, caller.explain()

    async with Sipp("uas_answer.xml", workdir) as callee:
        leg, log = await place(stack, f"sip:bob@{callee.uri_host}")
        await log.wait_for(Answered)
        await leg.hangup()
        assert await callee.wait() == 0, callee.explain()

    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "SIP" not in out + err, "sippy wrote to stdout/stderr"

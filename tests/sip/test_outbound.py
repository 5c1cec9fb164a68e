"""Calls we place, against sipp playing the callee: what the leg reports and what sipp saw on the wire."""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import threading
import time
from pathlib import Path

import pytest

from sip.events import Answered, Ended, Failed, Ringing
from sip.stack import SipStack
from testkit.ports import free_port
from testkit.sip_driver import place, sdp_offer
from tests.sip.by_hand import sip_message, udp_socket
from tests.sip.conftest import TIMER_B_S
from tests.support.sipp import Sipp


def target(sipp: Sipp, user: str = "bob") -> str:
    return f"sip:{user}@{sipp.uri_host}"


async def test_answered_then_we_hang_up_and_extra_headers_are_sent(stack: SipStack, workdir: Path) -> None:
    async with Sipp("uas_answer.xml", workdir) as sipp:
        leg, log = await place(stack, target(sipp), from_display="Front Desk",
                               headers=(("X-RestComm-CallSid", "CA0123"), ("X-Ticket", "42")))
        assert isinstance(await log.wait_for(Ringing), Ringing)
        answered = await log.wait_for(Answered)
        assert "m=audio" in answered.sdp
        await leg.hangup()
        assert await log.terminal() == Ended(by_remote=False)
        assert await sipp.wait() == 0, sipp.explain()
    invite, ack, bye = sipp.received()
    assert invite.startswith(f"INVITE sip:bob@{sipp.uri_host} SIP/2.0")
    assert "X-RestComm-CallSid: CA0123" in invite and "X-Ticket: 42" in invite
    assert 'From: "Front Desk" <sip:+16175551212@127.0.0.1>' in invite
    assert "Anonymous" not in invite  # our Contact carries no display name
    assert ack.startswith("ACK ") and bye.startswith("BYE ")
    assert log.kinds() == ["Ringing", "Answered", "Ended"]
    assert log.threads == {threading.get_ident()}, "events must arrive on the loop thread"


async def test_answered_then_the_peer_hangs_up(stack: SipStack, workdir: Path) -> None:
    async with Sipp("uas_bye.xml", workdir) as sipp:
        leg, log = await place(stack, target(sipp))
        await log.wait_for(Answered)
        assert await log.terminal() == Ended(by_remote=True)
        assert await sipp.wait() == 0, sipp.explain()
        await leg.hangup()  # a no-op once the leg has ended
    assert sipp.received()[-1].startswith("SIP/2.0 200 OK")


async def test_busy(stack: SipStack, workdir: Path) -> None:
    async with Sipp("uas_busy.xml", workdir) as sipp:
        _, log = await place(stack, target(sipp))
        assert await log.terminal() == Failed(486, "Busy Here")
        assert await sipp.wait() == 0, sipp.explain()
    assert log.kinds() == ["Failed"], "100 Trying is not ringing"
    assert sipp.received()[-1].startswith("ACK ")


async def test_our_cancel_while_ringing(stack: SipStack, workdir: Path) -> None:
    async with Sipp("uas_ring_cancel.xml", workdir) as sipp:
        leg, log = await place(stack, target(sipp))
        assert await log.wait_for(Ringing) == Ringing(180, None)
        await leg.hangup()
        await leg.hangup()  # idempotent: one CANCEL
        assert await log.terminal() == Ended(by_remote=False)
        assert await sipp.wait() == 0, sipp.explain()
    methods = [message.split(" ", 1)[0] for message in sipp.received()]
    assert methods == ["INVITE", "CANCEL", "ACK"]


async def test_a_peer_that_never_answers_fails_with_408_after_timer_b(stack: SipStack) -> None:
    # Bound and silent: the INVITE is delivered, nothing comes back, and no ICMP error either.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        started = time.monotonic()
        _, log = await place(stack, f"sip:bob@127.0.0.1:{silent.getsockname()[1]}")
        assert await log.terminal(timeout_s=TIMER_B_S + 3) == Failed(408, "no response (Timer B expired)",
                                                                        reached=False)
        assert TIMER_B_S - 0.1 <= time.monotonic() - started < TIMER_B_S + 1


async def test_nobody_listening_fails_at_once_with_the_icmp_error(stack: SipStack) -> None:
    closed = free_port(socket.SOCK_DGRAM)
    started = time.monotonic()
    _, log = await place(stack, f"sip:bob@127.0.0.1:{closed}")
    assert await log.terminal(timeout_s=TIMER_B_S) == Failed(
        503, "Connection refused (ECONNREFUSED, reported by ICMP)", reached=False)
    assert time.monotonic() - started < 1.0


# sipp checks the credentials itself with verifyauth, which reads only the Authorization header; for a 407
# it checks that Proxy-Authorization is there, and the test recomputes the digest (RFC 2617) independently.
VERIFY = '<verifyauth assign_to="authvalid" username="alice" password="s3cret" />'
PRESENT = ('<ereg regexp="Digest username=.alice." search_in="hdr" header="Proxy-Authorization:" '
           'check_it="true" assign_to="authvalid" />')
CHALLENGE_401 = {"code": "401", "reason": "Unauthorized", "challenge": "WWW-Authenticate", "check": VERIFY}
CHALLENGE_407 = {"code": "407", "reason": "Proxy Authentication Required", "challenge": "Proxy-Authenticate",
                 "check": PRESENT}


def digest_is_valid(header_line: str, password: str, method: str = "INVITE") -> bool:
    fields = dict(re.findall(r'(\w+)="?([^",]*)"?', header_line.split(" ", 2)[2]))
    ha1 = hashlib.md5(f"{fields['username']}:{fields['realm']}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{fields['uri']}".encode()).hexdigest()
    parts = [ha1, fields["nonce"], fields["nc"], fields["cnonce"], fields["qop"], ha2]
    return hashlib.md5(":".join(parts).encode()).hexdigest() == fields["response"]


@pytest.mark.parametrize("fill", [CHALLENGE_401, CHALLENGE_407], ids=["401", "407"])
async def test_digest_challenge_is_answered(stack: SipStack, workdir: Path, fill: dict[str, str]) -> None:
    code = fill["code"]
    async with Sipp("uas_challenge.xml", workdir, fill=fill) as sipp:
        leg, log = await place(stack, target(sipp, "alice"), username="alice", password="s3cret",
                               headers=(("X-Ticket", "42"),))
        await log.wait_for(Answered)  # sipp answers only if its verifyauth accepted our credentials
        await leg.hangup()
        assert await log.terminal() == Ended(by_remote=False)
        assert await sipp.wait() == 0, sipp.explain()
    first, _, second, *_ = sipp.received()
    credentials = "Authorization" if code == "401" else "Proxy-Authorization"
    assert f"\n{credentials}: Digest " not in first
    (line,) = [line for line in second.splitlines() if line.startswith(f"{credentials}: ")]
    assert digest_is_valid(line, "s3cret")


async def test_wrong_password_is_refused(stack: SipStack, workdir: Path) -> None:
    async with Sipp("uas_challenge.xml", workdir, fill=CHALLENGE_401) as sipp:
        _, log = await place(stack, target(sipp, "alice"), username="alice", password="wrong",
                             headers=(("X-Ticket", "42"),))
        assert await log.terminal() == Failed(403, "Forbidden")
        assert await sipp.wait() == 0, sipp.explain()


async def test_next_hop_overrides_the_request_uri_host(stack: SipStack, workdir: Path) -> None:
    async with Sipp("uas_answer.xml", workdir) as sipp:
        leg, log = await place(stack, "sip:+15551234@carrier.invalid", next_hop=("127.0.0.1", sipp.port))
        await log.wait_for(Answered)
        await leg.hangup()
        await log.terminal()
        assert await sipp.wait() == 0, sipp.explain()
    assert sipp.received()[0].startswith("INVITE sip:+15551234@carrier.invalid SIP/2.0")


async def test_a_registered_style_contact_is_called_as_given(stack: SipStack, workdir: Path) -> None:
    async with Sipp("uas_answer.xml", workdir) as sipp:
        leg, log = await place(stack, f"sip:bob-0x1f@{sipp.uri_host};transport=UDP;ob",
                               to_uri=f"sip:bob@{stack.address[0]}:{stack.address[1]}")
        await log.wait_for(Answered)
        await leg.hangup()
        assert await log.terminal() == Ended(by_remote=False)
        assert await sipp.wait() == 0, sipp.explain()
    invite = sipp.received()[0]
    assert invite.startswith(f"INVITE sip:bob-0x1f@{sipp.uri_host};transport=udp;ob SIP/2.0")
    assert f"To: <sip:bob@{stack.address[0]}:{stack.address[1]}>" in invite


async def test_bad_request_uri_is_refused_before_sending(stack: SipStack) -> None:
    with pytest.raises(ValueError, match="only sip: URIs over UDP"):
        await place(stack, "sip:bob@127.0.0.1:5999;transport=tcp")
    with pytest.raises(ValueError, match="only sip: URIs over UDP"):
        await place(stack, "sips:bob@127.0.0.1:5999")
    with pytest.raises(ValueError, match="not a SIP URI"):
        await place(stack, "sip:bob@127.0.0.1:notaport")
    with pytest.raises(ValueError, match="written by the SIP stack"):
        await place(stack, "sip:bob@127.0.0.1:5999", headers=(("Via", "x"),))


def by_hand(method: str, callee: tuple[str, int], caller_port: int, cseq: int, *, to_tag: str | None = None,
            body: str = "", branch: str | None = None) -> bytes:
    """One request of a call to `callee` from 127.0.0.1:`caller_port`; its branch is new unless given."""
    to = f"<sip:bob@{callee[0]}:{callee[1]}>" + (f";tag={to_tag}" if to_tag else "")
    branch = branch or f"z9hG4bK{method.lower()}{cseq}"
    lines = [f"{method} sip:bob@{callee[0]}:{callee[1]} SIP/2.0",
             f"Via: SIP/2.0/UDP 127.0.0.1:{caller_port};rport;branch={branch}",
             "Max-Forwards: 70", "From: <sip:+16175551212@127.0.0.1>;tag=by-hand", f"To: {to}",
             "Call-ID: retransmitted-invite@127.0.0.1", f"CSeq: {cseq} {method}",
             f"Contact: <sip:+16175551212@127.0.0.1:{caller_port}>"]
    return sip_message(lines, body)


@pytest.mark.parametrize("scenario", ["uas_answer.xml", "uas_busy.xml"])
async def test_the_callee_takes_our_invite_again_after_its_final_answer(workdir: Path, scenario: str) -> None:
    # Under load our Timer A resends the INVITE when its answer has waited in our queue for 500 ms: the callee
    # has sent its final response already and must still take the ACK (and the BYE). sipp aborted such calls
    # (3 to 5 in 100 of test_a_hundred_calls_25_at_a_time under load). Played by hand here, so it happens every time.
    loop = asyncio.get_running_loop()
    with udp_socket() as (caller, port):
        async with Sipp(scenario, workdir) as sipp:
            callee = ("127.0.0.1", sipp.port)
            invite = by_hand("INVITE", callee, port, 1, body=sdp_offer())
            await loop.sock_sendto(caller, invite, callee)
            async with asyncio.timeout(5):
                while not (final := (await loop.sock_recvfrom(caller, 4096))[0].decode()).startswith(
                        ("SIP/2.0 200", "SIP/2.0 486")):
                    pass
            await loop.sock_sendto(caller, invite, callee)  # the same bytes, as a retransmission is
            match = re.search(r"^To:.*;tag=([^;\r\n]+)", final, re.MULTILINE | re.IGNORECASE)
            assert match is not None, final
            to_tag, answered = match.group(1), final.startswith("SIP/2.0 200")
            # The ACK of a 2xx is a transaction of its own (a new branch); that of a failure shares the INVITE's.
            ack = by_hand("ACK", callee, port, 1, to_tag=to_tag, branch=None if answered else "z9hG4bKinvite1")
            await loop.sock_sendto(caller, ack, callee)
            if answered:
                await loop.sock_sendto(caller, by_hand("BYE", callee, port, 2, to_tag=to_tag), callee)
            assert await sipp.wait() == 0, sipp.explain()
    assert [message.split(" ", 1)[0] for message in sipp.received()][:3] == ["INVITE", "INVITE", "ACK"]


async def test_the_busy_callee_takes_our_cancel_crossing_its_486(workdir: Path) -> None:
    # A client's devices ring at once; when one answers, the others get CANCEL. The busy one may have sent its
    # 486 already while it waits unread in our queue (under load): the CANCEL crosses it, legally, since we had
    # no final response when we sent it (RFC 3261 9.1). The callee answers the CANCEL 200 (its INVITE
    # transaction is still there) and still takes the ACK of its 486 (9.2). sipp aborted such calls
    # ("unexpected CANCEL") in test_two_devices_one_busy_the_other_answers under load. Played by hand here.
    loop = asyncio.get_running_loop()
    with udp_socket() as (caller, port):
        async with Sipp("uas_busy.xml", workdir) as sipp:
            callee = ("127.0.0.1", sipp.port)
            await loop.sock_sendto(caller, by_hand("INVITE", callee, port, 1, body=sdp_offer()), callee)
            async with asyncio.timeout(5):
                while not (busy := (await loop.sock_recvfrom(caller, 4096))[0].decode()).startswith("SIP/2.0 486"):
                    pass
                # The CANCEL shares the INVITE's branch and To (no tag), CSeq number and Request-URI.
                await loop.sock_sendto(caller, by_hand("CANCEL", callee, port, 1, branch="z9hG4bKinvite1"), callee)
                while not (answer := (await loop.sock_recvfrom(caller, 4096))[0].decode()).startswith("SIP/2.0 "):
                    pass
                while answer.startswith("SIP/2.0 486"):  # the 486 again, retransmitted: not the CANCEL's answer
                    answer = (await loop.sock_recvfrom(caller, 4096))[0].decode()
            assert answer.startswith("SIP/2.0 200") and re.search(r"^CSeq: 1 CANCEL", answer, re.MULTILINE), answer
            match = re.search(r"^To:.*;tag=([^;\r\n]+)", busy, re.MULTILINE | re.IGNORECASE)
            assert match is not None, busy
            ack = by_hand("ACK", callee, port, 1, to_tag=match.group(1), branch="z9hG4bKinvite1")
            await loop.sock_sendto(caller, ack, callee)
            assert await sipp.wait() == 0, sipp.explain()
    assert [message.split(" ", 1)[0] for message in sipp.received()] == ["INVITE", "CANCEL", "ACK"]


async def test_a_hundred_calls_25_at_a_time(stack: SipStack, workdir: Path) -> None:
    calls, gate = 100, asyncio.Semaphore(25)

    async def call(sipp: Sipp) -> list[str]:
        async with gate:
            leg, log = await place(stack, target(sipp))
            await log.wait_for(Answered)
            await leg.hangup()
            await log.terminal()
            return log.kinds()

    async with Sipp("uas_answer.xml", workdir, calls=calls) as sipp:
        outcomes = await asyncio.gather(*(call(sipp) for _ in range(calls)))
        assert await sipp.wait() == 0, sipp.explain()
    assert outcomes == [["Ringing", "Answered", "Ended"]] * calls

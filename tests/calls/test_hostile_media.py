"""A hostile network against live calls' media (issue 12): RTP from a stranger, SDP that names a victim."""

from __future__ import annotations

import asyncio
import io
import wave

from models import Call, Notification
from sip.media import PortPool, rtp
from tests.conftest import ADMIN_SID
from tests.media.audio import interleave, tone
from tests.support.sipp import Sipp


def wav_of(seconds: float, hz: float = 1000.0) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(interleave([tone(hz, 8000, seconds)], 2))
    return buffer.getvalue()


class Listener(asyncio.DatagramProtocol):
    """A UDP socket that counts what reaches it: the attacker's own port, or a third party's."""

    def __init__(self) -> None:
        self.datagrams = 0
        self.bytes = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.datagrams += 1
        self.bytes += len(data)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]


async def listener() -> Listener:
    _, protocol = await asyncio.get_running_loop().create_datagram_endpoint(Listener, local_addr=("127.0.0.1", 0))
    return protocol


async def test_one_packet_from_a_stranger_does_not_steal_the_calls_audio(server, application, workdir):
    """RTP bleed: a packet from another address mid-call must not redirect the call's audio (strictrtp)."""
    url = application.on("/rcml", "<Response><Play>tone.wav</Play></Response>")
    application.on("/tone.wav", wav_of(3.0))
    attacker = await listener()
    echoed: list[bytes] = []
    async with Sipp("uas_answer.xml", workdir, args=["-rtp_echo"]) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url)
        await server.wait_status(call["sid"], "in-progress")
        owner = server.engine.owners[call["sid"]]
        owner.media.listen(lambda frame: echoed.append(frame.payload))
        await asyncio.sleep(1.0)  # the stream is established: the phone's echo has come back for a while
        stranger = rtp.pack(0, True, 7, 0, 0xBAD, b"\xff" * 160)
        for _ in range(5):
            attacker.transport.sendto(stranger, owner.media.local_address)
            await asyncio.sleep(0.02)
        await server.wait_status(call["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    attacker.transport.close()
    print(f"echoed from the phone {len(echoed)} packets; the stranger got {attacker.datagrams}")
    assert attacker.datagrams == 0
    assert len(echoed) >= 130  # about 150 sent in 3 s, minus the first second's before the listener


async def test_no_media_to_an_sdp_address_before_the_ack_and_timer_h_ends_the_call(server, application, workdir):
    """Amplification: an INVITE whose SDP names a third party and never ACKs gets no RTP sent there, and the
    call ends at Timer H (64*T1 = 32 s) with a final status and one callback."""
    victim = await listener()
    number = "+15551234567"
    response = await server.post(f"/Accounts/{ADMIN_SID}/IncomingPhoneNumbers.json", {
        "PhoneNumber": number, "StatusCallback": application.on("/status", ""),
        "VoiceUrl": application.on("/voice", "<Response><Play loop=\"0\">tone.wav</Play></Response>")})
    assert response.status_code == 201, response.text
    application.on("/tone.wav", wav_of(1.0))
    async with Sipp("uac_no_ack.xml", workdir, target=server.sip, args=["-s", number],
                    fill={"victim_port": str(victim.port)}, lifetime_s=50) as peer:
        await asyncio.sleep(3)
        [call] = await Call.all()
        assert victim.datagrams == 0, f"{victim.bytes} bytes of RTP went to an address that never said yes"
        final = await server.wait_status(call.sid, "completed", "failed", within=45)
        await peer.stop()
    print(f"no ACK: the call ended {final.status} {(final.end_time - final.start_time).total_seconds():.1f} s "
          f"after it began; {victim.datagrams} RTP packets reached the SDP's address")
    victim.transport.close()
    assert victim.datagrams == 0
    await server.idle()
    finals = [r for r in application.requests_to("/status") if r.params["CallStatus"] in ("completed", "failed")]
    assert len(finals) == 1 and final.status in ("completed", "failed")


async def add_number(server, number: str, voice_url: str, account_sid: str = ADMIN_SID) -> None:
    response = await server.post(f"/Accounts/{account_sid}/IncomingPhoneNumbers.json",
                                 {"PhoneNumber": number, "VoiceUrl": voice_url})
    assert response.status_code == 201, response.text


def flood(server, workdir, number: str, calls: int, rate: int) -> Sipp:
    return Sipp("uac_flood.xml", workdir, target=server.sip, calls=calls, lifetime_s=40,
                args=["-s", number, "-r", str(rate), "-rp", "1000", "-l", str(calls)])


async def test_a_burst_of_invites_from_one_address_gets_503_beyond_its_rate(server, application, workdir):
    """A flood from one address costs one 503 (with Retry-After) per INVITE past the rate: no row, no fetch,
    no RTP port; and no row is left ringing once the burst is over."""
    await add_number(server, "+15551234567", application.on("/voice", '<Response><Pause length="1"/></Response>'))
    bucket = server.engine.stack.invite_rate
    saved = bucket.rate, bucket.burst
    bucket.rate, bucket.burst = 5, 10
    try:
        async with flood(server, workdir, "+15551234567", calls=40, rate=200) as caller:
            await caller.wait(35)
            log = caller.messages
    finally:
        bucket.rate, bucket.burst = saved
    await server.idle(within=20)
    refused = log.count("SIP/2.0 503 Service Unavailable")
    made = await Call.all().count()
    print(f"40 INVITEs at 200/s: {made} calls made, {refused} refused with 503")
    assert made <= 12 and refused >= 28, (made, refused)
    assert "retry-after: " in log.lower()
    assert len(application.requests_to("/voice")) == made
    assert await Call.filter(status__in=["queued", "ringing", "in-progress"]).count() == 0


async def test_an_account_past_its_live_calls_gets_503_and_another_tenants_call_still_works(
        server, application, workdir):
    await add_number(server, "+15551234567", application.on("/voice", '<Response><Pause length="4"/></Response>'))
    response = await server.post("/Accounts.json", {"FriendlyName": "Other", "EmailAddress": "other@example.com",
                                                    "Password": "other-secret-1"})
    assert response.status_code in (200, 201), response.text
    other = response.json()["sid"]
    await add_number(server, "+15557654321", application.on("/other", '<Response><Hangup/></Response>'), other)
    limits = server.engine.services.limits
    saved = limits.max_calls_per_account
    limits.max_calls_per_account = 3
    try:
        async with flood(server, workdir, "+15551234567", calls=8, rate=50) as caller:
            await asyncio.sleep(1.5)  # the first three are up
            async with flood(server, workdir, "+15557654321", calls=1, rate=1) as other_caller:
                assert await other_caller.wait(15) == 0, other_caller.explain()
            await caller.wait(30)
            log = caller.messages
    finally:
        limits.max_calls_per_account = saved
    await server.idle(within=20)
    assert await Call.filter(account_sid=ADMIN_SID).count() == 3
    assert log.count("SIP/2.0 503 Service Unavailable") == 5 and "retry-after: 5" in log.lower()
    [other_call] = await Call.filter(account_sid=other)
    assert other_call.status == "completed"


async def test_with_every_rtp_port_taken_an_inbound_call_gets_503_and_ends_failed(server, application, workdir):
    await add_number(server, "+15551234567", application.on("/voice", '<Response><Pause length="1"/></Response>'))
    media = server.engine.services.media
    whole_range = media.pool
    # A pool of one port, held here, rather than every port of the server's range bound by this test: another test
    # run on this machine (a second `make test`, say) may draw from the same range and would be starved.
    taken = whole_range.bind("127.0.0.1")
    port = taken.getsockname()[1]
    taken.close()
    media.pool = PortPool(port, port)
    held = media.pool.bind("127.0.0.1")
    try:
        async with Sipp("uac_rejected.xml", workdir, target=server.sip, args=["-s", "+15551234567"],
                        fill={"code": "503"}) as caller:
            assert await caller.wait(15) == 0, caller.explain()
    finally:
        held.close()
        media.pool = whole_range
        whole_range.release(port)
    [call] = await Call.all()
    assert call.status == "failed"
    [note] = await Notification.filter(call_sid=call.sid, error_code=13226)
    assert "no free RTP port" in note.message_text


async def test_an_unusable_sdp_is_refused_with_488_before_anything_answers(server, application, workdir):
    """m=audio 70000 was answered 200 and then wedged the call in-progress; a host name would be looked up by a
    blocking sendto; an SRTP-only offer (RTP/SAVP) was answered plain RTP/AVP, which its caller cannot take. Each
    gets 488 Not Acceptable Here, and the row ends failed."""
    await add_number(server, "+15551234567", application.on("/voice", "<Response><Play>tone.wav</Play></Response>"))
    application.on("/tone.wav", wav_of(1.0))
    offers = (("127.0.0.1", "70000", "RTP/AVP"), ("127.0.0.1", "0", "RTP/AVP"),
              ("media.example.invalid", "4000", "RTP/AVP"), ("127.0.0.1", "4000", "RTP/SAVP"))
    for host, port, proto in offers:
        async with Sipp("uac_bad_sdp.xml", workdir, target=server.sip, args=["-s", "+15551234567"],
                        fill={"host": host, "port": port, "proto": proto, "code": "488"}) as caller:
            assert await caller.wait(15) == 0, f"{host}:{port} {proto}\n{caller.explain()}"
    await server.idle()
    calls = await Call.all()
    assert [call.status for call in calls] == ["failed"] * len(offers)


async def test_a_sip_request_with_two_to_or_two_content_length_headers_gets_400(server):
    """RFC 3261: a request that repeats a header it carries once is malformed (400), not answered 200."""
    loop = asyncio.get_running_loop()
    answers: asyncio.Queue[bytes] = asyncio.Queue()

    class Peer(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr) -> None:
            answers.put_nowait(data)

    transport, _ = await loop.create_datagram_endpoint(Peer, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    host, sip_port = server.sip

    def options(n: int, extra: str) -> bytes:
        return (f"OPTIONS sip:{host}:{sip_port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-dup-{n}\r\n"
                f"From: <sip:probe@127.0.0.1:{port}>;tag=dup{n}\r\nTo: <sip:{host}:{sip_port}>\r\n"
                f"Call-ID: dup-{n}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n{extra}"
                "Content-Length: 0\r\n\r\n").encode()

    try:
        cases = (("", "200"), ("To: <sip:other@127.0.0.1>\r\n", "400"), ("l: 4\r\n", "400"),
                 ("Content-Length: 0\r\n", "400"))
        for n, (extra, code) in enumerate(cases):
            transport.sendto(options(n, extra), (host, sip_port))
            answer = await asyncio.wait_for(answers.get(), 5)
            assert answer.startswith(f"SIP/2.0 {code}".encode()), (extra, answer[:60])
    finally:
        transport.close()


async def test_an_accounts_max_concurrent_calls_holds_for_inbound_calls(server, application, workdir):
    """The per-account limit of the API (MaxConcurrentCalls) applies to calls coming in as well: 503 past it."""
    from models import Account

    await add_number(server, "+15551234567", application.on("/voice", '<Response><Pause length="3"/></Response>'))
    await Account.filter(sid=ADMIN_SID).update(max_concurrent_calls=2)
    server.app.context.accounts.clear()
    try:
        async with flood(server, workdir, "+15551234567", calls=5, rate=50) as caller:
            await caller.wait(30)
            log = caller.messages
    finally:
        await Account.filter(sid=ADMIN_SID).update(max_concurrent_calls=None)
    await server.idle(within=20)
    assert await Call.all().count() == 2
    assert log.count("SIP/2.0 503 Service Unavailable") == 3

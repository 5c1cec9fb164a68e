"""Numbers through the outbound proxy, digest credentials, unregistering, and garbage on the SIP port."""

from __future__ import annotations

import asyncio
import socket

from calls.types import OutboundProxy
from models import Call, Registration
from tests.calls.test_clients_calls import make_client, registering
from tests.sip.test_outbound import CHALLENGE_401, CHALLENGE_407, digest_is_valid
from tests.sip.test_robustness import malformed
from tests.support.sipp import Sipp

HANGUP = "<Response><Hangup/></Response>"
PAUSE_1S = '<Response><Pause length="1"/></Response>'


async def test_a_number_goes_to_the_outbound_proxy_with_its_credentials(server, application, workdir):
    url = application.on("/rcml", HANGUP)
    async with Sipp("uas_challenge.xml", workdir, fill=CHALLENGE_407) as proxy:
        with server.outbound_proxy(OutboundProxy("127.0.0.1", proxy.port, "alice", "s3cret")):
            call = await server.place("+1 (555) 123-4567?X-Ticket=42", url)
            ended = await server.wait_status(call["sid"], "completed")
            assert await proxy.wait() == 0, proxy.explain()
    first, _, second, *_ = proxy.received()
    assert first.startswith(f"INVITE sip:+15551234567@127.0.0.1:{proxy.port} SIP/2.0")
    [line] = [line for line in second.splitlines() if line.startswith("Proxy-Authorization: ")]
    assert digest_is_valid(line, "s3cret")
    assert ended.to_address == "+15551234567"


async def test_username_and_password_answer_a_challenge_from_the_callee(server, application, workdir):
    url = application.on("/rcml", HANGUP)
    async with Sipp("uas_challenge.xml", workdir, fill=CHALLENGE_401) as callee:
        call = await server.place(f"sip:alice@{callee.uri_host}?X-Ticket=42", url, Username="alice",
                                  Password="s3cret")
        await server.wait_status(call["sid"], "completed")
        assert await callee.wait() == 0, callee.explain()


async def test_a_wrong_password_fails_the_call(server, application, workdir):
    url = application.on("/rcml", HANGUP)
    async with Sipp("uas_challenge.xml", workdir, fill=CHALLENGE_401) as callee:
        call = await server.place(f"sip:alice@{callee.uri_host}?X-Ticket=42", url, Username="alice",
                                  Password="wrong")
        ended = await server.wait_status(call["sid"], "failed")
        await callee.wait()
    assert ended.end_time is not None


async def test_two_devices_register_and_contact_star_removes_them(server, workdir):
    alice = await make_client(server, "alice", "s3cret")
    ports = []
    for _ in range(2):
        async with registering(server, "register_digest.xml", workdir, "alice", "s3cret") as peer:
            assert await peer.wait() == 0, peer.explain()
        ports.append(peer.port)
    bindings = await Registration.filter(client_sid=alice.sid).order_by("id")
    assert [b.contact_uri for b in bindings] == [f"sip:alice@127.0.0.1:{p};transport=UDP" for p in ports]
    async with registering(server, "unregister_all.xml", workdir, "alice", "s3cret") as peer:
        assert await peer.wait() == 0, peer.explain()
    assert await Registration.filter(client_sid=alice.sid).count() == 0


async def test_garbage_on_the_sip_port_then_calls_still_work(server, application, workdir):
    number = await server.post("/Accounts/ACae6e420f425248d6a26948c17a9e2acf/IncomingPhoneNumbers.json",
                               # A pause: uac_answered.xml sends its INFO before it waits for our BYE.
                               {"PhoneNumber": "+15551234567", "VoiceUrl": application.on("/voice", PAUSE_1S)})
    assert number.status_code == 201
    host, port = server.sip
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.bind(("127.0.0.1", 0))
        for datagram in malformed(1000, host, port, sender.getsockname()[1]):
            sender.sendto(datagram[:65000], (host, port))
    await asyncio.sleep(0.5)
    assert await Call.all().count() == 0  # no garbage INVITE became a call
    async with Sipp("uac_answered.xml", workdir, target=server.sip, args=["-s", "+15551234567"]) as caller:
        assert await caller.wait() == 0, caller.explain()
    [inbound] = await Call.all()
    assert (inbound.direction, inbound.status) == ("inbound", "completed")
    url = application.on("/rcml", HANGUP)
    async with Sipp("uas_answer.xml", workdir) as callee:
        call = await server.place(f"sip:bob@{callee.uri_host}", url)
        await server.wait_status(call["sid"], "completed")
        assert await callee.wait() == 0, callee.explain()

"""REGISTER handled by the engine's registrar on the asyncio side, with digest auth, from sipp and from a real
phone (baresip); then calling the phone at the Contact it registered."""

from __future__ import annotations

import socket
from pathlib import Path

from sip.events import Answered, Ended
from sip.stack import SipStack
from testkit.sip_driver import REALM, Handler, place
from tests.support.baresip import Baresip
from tests.support.sipp import Sipp


def registering(scenario: str, workdir: Path, stack: SipStack, password: str) -> Sipp:
    return Sipp(scenario, workdir, target=stack.address, args=["-s", "alice", "-au", "alice", "-ap", password])


async def test_sipp_registers_with_digest(stack: SipStack, handler: Handler, workdir: Path) -> None:
    async with registering("register_digest.xml", workdir, stack, "s3cret") as sipp:
        assert await sipp.wait() == 0, sipp.explain()
    challenge, ok = sipp.received()
    assert challenge.startswith("SIP/2.0 401 Unauthorized")
    assert f'WWW-Authenticate: Digest realm="{REALM}", nonce="' in challenge and 'qop="auth"' in challenge
    assert ok.startswith("SIP/2.0 200 OK")
    assert f"<sip:alice@127.0.0.1:{sipp.port};transport=udp>;expires=60" in ok.replace("UDP", "udp")
    (request, _), (authorized, response) = handler.registers[-2:]
    assert request.authorization is None
    assert authorized.authorization is not None and authorized.authorization["username"] == "alice"
    assert (authorized.to_user, authorized.expires, authorized.cseq) == ("alice", 60, 2)
    assert authorized.source == ("127.0.0.1", sipp.port)
    assert response.status == 200


async def test_sipp_with_a_wrong_password_is_challenged_again(stack: SipStack, handler: Handler,
                                                              workdir: Path) -> None:
    async with registering("register_refused.xml", workdir, stack, "guess") as sipp:
        assert await sipp.wait() == 0, sipp.explain()
    assert [message.splitlines()[0] for message in sipp.received()] == ["SIP/2.0 401 Unauthorized"] * 2
    assert handler.registers[-1][0].authorization is not None
    assert handler.registers[-1][1].status == 401


async def test_baresip_registers_and_answers_a_call_to_its_contact(stack: SipStack, handler: Handler,
                                                                   workdir: Path) -> None:
    host, port = stack.address
    handler.users["dave"] = "d4ve"
    async with Baresip(workdir, registrar=stack.address, user="dave", password="d4ve") as phone:
        await phone.wait_for(r"200 OK .*\[1 binding\]")
        contact = await handler.binding("dave")
        # baresip registers a Contact user of its own (dave-0x...): only the Contact reaches it.
        assert contact.startswith("sip:dave-") and contact.endswith(f"@127.0.0.1:{phone.port}")
        leg, log = await place(stack, contact, to_uri=f"sip:dave@{host}:{port}", from_user="+15557654321")
        answered = await log.wait_for(Answered)
        assert "a=tool:baresip" in answered.sdp
        await phone.wait_for("Call established")
        await leg.hangup()
        assert await log.terminal() == Ended(by_remote=False)
        # baresip reports a BYE it received as the far end resetting the session.
        await phone.wait_for("session closed")
    statuses = [response.status for request, response in handler.registers if request.source[1] == phone.port]
    assert statuses[:2] == [401, 200]


async def test_a_phone_the_tests_stop_finishes_its_own_graceful_stop(stack: SipStack, handler: Handler,
                                                                     workdir: Path) -> None:
    """Stopping a phone must let it finish what it does on SIGTERM (its un-REGISTER here; the BYE of a call it
    is hanging up, which it sends only after it printed "Call ... terminated"). A second SIGTERM kills it
    half-way: the one `timeout` relays when the whole group is signalled left a room participant's call live
    on the server (tests/twilio/test_participant_dial_in.py), its BYE never sent."""
    handler.users["erin"] = "3rin"
    async with Baresip(workdir, registrar=stack.address, user="erin", password="3rin") as phone:
        await phone.wait_for(r"200 OK .*\[1 binding\]")
    # It exited by itself, after its un-REGISTER was answered; not killed by a signal.
    assert phone.exit_status == 0, phone.output()
    ends = [request for request, response in handler.registers
            if request.source[1] == phone.port and response.status == 200
            and (request.expires == 0 or any(expires == 0 for _, expires in request.contacts))]
    assert ends, "the phone never un-registered"


async def test_a_phone_whose_port_was_taken_before_it_bound_starts_on_fresh_ports(
        stack: SipStack, handler: Handler, workdir: Path) -> None:
    """Ports are free when chosen, not reserved: a parallel test worker can take one first (seen: baresip's TLS
    port, P+1, "ua: init failed (Address already in use)"). The phone then starts again on other ports."""
    handler.users["fred"] = "fr3d"
    phone = Baresip(workdir, registrar=stack.address, user="fred", password="fr3d")
    taken = phone.port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", taken + 1))
        squatter.listen()
        async with phone:
            await phone.wait_for(r"200 OK .*\[1 binding\]")
            assert phone.port != taken
    assert any(request.source[1] == phone.port and response.status == 200
               for request, response in handler.registers)


async def test_baresip_with_a_wrong_password_is_never_accepted(stack: SipStack, handler: Handler,
                                                               workdir: Path) -> None:
    handler.users["carol"] = "right"

    def attempts() -> list:
        return [(request, response) for request, response in handler.registers if request.to_user == "carol"]

    async with Baresip(workdir, registrar=stack.address, user="carol", password="wrong") as phone:
        await phone.wait_for(r"reg: sip:carol@.*401 Unauthorized")
        # baresip answers each new challenge with the same wrong password; let it try a few times.
        await handler.until_registers(lambda: sum(request.authorization is not None
                                                  for request, _ in attempts()) >= 3)
    assert all(response.status == 401 for _, response in attempts())
    assert not handler.bindings.get("carol")

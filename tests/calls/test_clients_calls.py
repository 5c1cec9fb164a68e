"""Registered clients (contract sections 6 and 9): REGISTER with digest, then `To=client:name` rings them."""

from __future__ import annotations

import asyncio
import datetime as dt

from models import Call, Client, Notification, Registration, clock
from tests.conftest import ADMIN_SID
from tests.support.baresip import Baresip
from tests.support.sipp import Sipp


async def make_client(server, login: str, password: str) -> Client:
    response = await server.post(f"/Accounts/{ADMIN_SID}/Clients.json", {"Login": login, "Password": password})
    assert response.status_code == 201, response.text
    return await Client.get(login=login)


def registering(server, scenario: str, workdir, login: str, password: str) -> Sipp:
    return Sipp(scenario, workdir, target=server.sip, args=["-s", login, "-au", login, "-ap", password])


async def test_sipp_registers_with_digest_and_a_wrong_password_never_does(server, workdir):
    alice = await make_client(server, "alice", "s3cret")
    async with registering(server, "register_refused.xml", workdir, "alice", "guess") as peer:
        assert await peer.wait() == 0, peer.explain()
    assert await Registration.filter(client_sid=alice.sid).count() == 0
    async with registering(server, "register_digest.xml", workdir, "alice", "s3cret") as peer:
        assert await peer.wait() == 0, peer.explain()
    [binding] = await Registration.filter(client_sid=alice.sid)
    assert binding.contact_uri == f"sip:alice@127.0.0.1:{peer.port};transport=UDP"
    assert binding.expires_at > clock.now() + dt.timedelta(seconds=50)


async def test_unknown_logins_are_challenged_then_refused(server, workdir):
    async with registering(server, "register_refused.xml", workdir, "mallory", "guess") as peer:
        await peer.wait()
    assert await Registration.all().count() == 0


async def test_baresip_registers_and_a_call_to_the_client_rings_it(server, application, workdir):
    await make_client(server, "alice", "1234")
    url = application.on("/rcml", '<Response><Pause length="1"/></Response>')
    async with Baresip(workdir, registrar=server.sip, user="alice", password="1234", tone_s=5) as phone:
        await phone.wait_for(r"200 OK .*\[1 binding\]")
        call = await server.place("client:alice", url)
        try:
            await server.wait_status(call["sid"], "in-progress")
            await phone.wait_for("Call established")
            ended = await server.wait_status(call["sid"], "completed")
            await phone.wait_for("terminated")
        except TimeoutError:
            raise AssertionError(f"baresip said:\n{phone.output()}") from None
    assert ended.to_address == "alice" and ended.duration == 1


async def test_a_wrong_password_phone_is_never_registered(server, workdir):
    await make_client(server, "carol", "right-one")
    async with Baresip(workdir, registrar=server.sip, user="carol", password="wrong-one") as phone:
        # 401 each time; a phone that keeps answering wrong is refused 403 (guessing, calls/guessing.py).
        await phone.wait_for(r"401 Unauthorized|403 Forbidden")
    assert await Registration.all().count() == 0


async def test_two_devices_one_busy_the_other_answers(server, application, workdir):
    alice = await make_client(server, "alice", "1234")
    url = application.on("/rcml", '<Response><Pause length="1"/></Response>')
    async with Sipp("uas_busy.xml", workdir) as busy, Sipp("uas_answer.xml", workdir) as answering:
        now = clock.now()
        for peer in (busy, answering):
            await Registration.create(client_sid=alice.sid, login="alice",
                                      contact_uri=f"sip:alice@127.0.0.1:{peer.port}", source_host="127.0.0.1",
                                      source_port=peer.port, expires_at=now + dt.timedelta(minutes=5),
                                      date_created=now, date_updated=now)
        call = await server.place("client:alice", url)
        ended = await server.wait_status(call["sid"], "completed")
        assert await busy.wait() == 0, busy.explain()
        assert await answering.wait() == 0, answering.explain()
    assert ended.duration == 1


async def test_a_known_client_with_no_registration_fails_with_a_notification(server, application):
    await make_client(server, "dave", "1234")
    call = await server.place("client:dave", application.on("/rcml", "<Response><Hangup/></Response>"))
    await server.wait_status(call["sid"], "failed")
    [note] = await Notification.filter(call_sid=call["sid"])
    assert note.error_code == 11008 and "dave is not registered" in note.message_text
    assert (await Call.get(sid=call["sid"])).end_time is not None


async def _registered(alice_sid: str, within: float = 10.0) -> Registration:
    for _ in range(int(within / 0.05)):
        binding = await Registration.filter(client_sid=alice_sid).first()
        if binding is not None:
            return binding
        await asyncio.sleep(0.05)
    raise AssertionError("the REGISTER never made a binding")


async def test_a_third_party_registration_rings_the_contact_not_the_registering_port(server, application, workdir):
    """RFC 3261 10.2: the binding's Contact is where calls go, wherever the REGISTER came from."""
    alice = await make_client(server, "alice", "s3cret")
    url = application.on("/rcml", '<Response><Pause length="1"/></Response>')
    async with Sipp("uas_answer.xml", workdir) as phone:
        args = ["-s", "alice", "-au", "alice", "-ap", "s3cret", "-key", "contact_port", str(phone.port)]
        async with Sipp("register_third_party.xml", workdir, target=server.sip, args=args) as registrar_client:
            assert await registrar_client.wait() == 0, registrar_client.explain()
        binding = await _registered(alice.sid)
        assert binding.behind_nat is False and binding.source_port == registrar_client.port
        call = await server.place("client:alice", url)
        await server.wait_status(call["sid"], "completed")
        assert await phone.wait() == 0, phone.explain()
    assert phone.received()[0].startswith(f"INVITE sip:alice@127.0.0.1:{phone.port} SIP/2.0")


async def test_a_phone_behind_nat_is_called_where_its_register_came_from(server, application, workdir):
    """Its Via and Contact name a private address the REGISTER did not come from: NAT, so the source is used."""
    alice = await make_client(server, "alice", "s3cret")
    url = application.on("/rcml", '<Response><Pause length="1"/></Response>')
    args = ["-s", "alice", "-au", "alice", "-ap", "s3cret"]
    async with Sipp("register_behind_nat.xml", workdir, target=server.sip, args=args) as registering:
        assert await registering.wait() == 0, registering.explain()
    binding = await _registered(alice.sid)
    assert binding.behind_nat is True and binding.contact_uri == "sip:alice@192.168.1.10:5060"
    # The phone answers on the port it registered from (the NAT's mapping); the private Contact is unreachable.
    phone = Sipp("uas_answer.xml", workdir)
    phone.port = registering.port
    async with phone:
        call = await server.place("client:alice", url)
        await server.wait_status(call["sid"], "completed")
        assert await phone.wait() == 0, phone.explain()
    assert phone.received()[0].startswith("INVITE sip:alice@192.168.1.10:5060 SIP/2.0")


async def test_a_registration_with_path_is_called_through_the_path(server, application, workdir):
    """RFC 3327: the INVITE goes to the first Path URI, with the Path as its Route set."""
    alice = await make_client(server, "alice", "s3cret")
    url = application.on("/rcml", '<Response><Pause length="1"/></Response>')
    async with Sipp("uas_answer.xml", workdir) as proxy:
        args = ["-s", "alice", "-au", "alice", "-ap", "s3cret", "-key", "proxy_port", str(proxy.port)]
        async with Sipp("register_with_path.xml", workdir, target=server.sip, args=args) as registering:
            assert await registering.wait() == 0, registering.explain()
        binding = await _registered(alice.sid)
        assert binding.path == f"sip:127.0.0.1:{proxy.port};lr"
        call = await server.place("client:alice", url)
        await server.wait_status(call["sid"], "completed")
        assert await proxy.wait() == 0, proxy.explain()
    invite = proxy.received()[0]
    # (its Contact's transport=UDP is normalised to lower case, as for every URI sent)
    assert invite.startswith(f"INVITE sip:alice@127.0.0.1:{registering.port};transport=udp SIP/2.0"), invite
    assert f"Route: <sip:127.0.0.1:{proxy.port};lr>" in invite

"""A hostile tenant's documents against the server (issue 12): what one document may make the server do."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.responses import Response

from models import Call, Notification
from tests.calls.conftest import INTERNAL_HOST
from tests.conftest import ADMIN_SID
from tests.support.sipp import Sipp


async def test_dial_rings_at_most_ten_destinations_and_notes_the_rest(server, application, workdir):
    after = application.on("/after", "<Response><Hangup/></Response>")
    async with Sipp("uas_busy.xml", workdir, calls=12) as callee, Sipp("uas_answer.xml", workdir) as caller:
        nouns = "".join(f"<Sip>sip:bob{n}@{callee.uri_host}</Sip>" for n in range(12))
        document = f'<Response><Dial timeout="5" action="{after}">{nouns}</Dial></Response>'
        call = await server.place(f"sip:alice@{caller.uri_host}", application.on("/dial", document))
        await server.wait_status(call["sid"], "completed", within=20)
    legs = await Call.filter(parent_call_sid=call["sid"])
    assert len(legs) == 10, f"{len(legs)} legs dialled"
    assert sorted(leg.to_address for leg in legs) == sorted(f"bob{n}" for n in range(10))  # the first ten
    notes = [n for n in await Notification.filter(call_sid=call["sid"]) if "at most 10" in n.message_text]
    assert len(notes) == 1 and "skipped 2" in notes[0].message_text, [n.message_text for n in notes]


async def test_a_call_ends_at_the_longest_a_call_may_last(server, application, workdir):
    """No call runs forever: without a TimeLimit it ends after RESTCOMM_MAX_CALL_SECONDS (4 h by default)."""
    limits = server.engine.services.limits
    default, limits.max_call_seconds = limits.max_call_seconds, 2
    try:
        async with Sipp("uas_answer.xml", workdir) as phone:
            call = await server.place(f"sip:alice@{phone.uri_host}",
                                      application.on("/rcml", '<Response><Pause length="60"/></Response>'))
            ended = await server.wait_status(call["sid"], "completed", within=10)
            assert await phone.wait() == 0, phone.explain()  # it got our BYE
    finally:
        limits.max_call_seconds = default
    assert default == 4 * 3600
    assert ended.duration == 2
    [note] = await Notification.filter(call_sid=call["sid"], error_code=13250)
    assert "2 s" in note.message_text


class InternalService:
    """A service on an address only the server's host reaches (a stand-in for 169.254.169.254): counts who
    connects, and answers a secret to whoever does."""

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.base_events.Server | None = None

    async def __aenter__(self) -> InternalService:
        self.server = await asyncio.start_server(self._serve, INTERNAL_HOST, 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://{INTERNAL_HOST}:{self.server.sockets[0].getsockname()[1]}/latest/meta-data/"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
            body = b"SECRET-ACCESS-KEY"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n%s" % (len(body), body))
            await writer.drain()
        writer.close()


async def test_urls_that_reach_internal_addresses_are_refused_directly_and_through_redirects(
        server, application, workdir):
    """SSRF: a tenant's Url, a redirect hop, a StatusCallback and a <Play> never reach a denied address, and
    nothing of what such an address would answer comes back in a Notification."""
    async with InternalService() as internal:
        hop = application.on("/hop", lambda _: Response(status_code=302, headers={"Location": internal.url}))
        play = application.on("/play", f"<Response><Play>{internal.url}x.wav</Play></Response>")
        for url, extra in ((internal.url, {}), (hop, {}), (play, {"StatusCallback": internal.url})):
            async with Sipp("uas_answer.xml", workdir) as phone:
                call = await server.place(f"sip:alice@{phone.uri_host}", url, **extra)
                await server.wait_status(call["sid"], "completed", "failed", within=15)
            await server.idle()
            notes = await Notification.filter(call_sid=call["sid"])
            assert any("fetch policy" in note.message_text for note in notes), [n.message_text for n in notes]
            assert not any("SECRET" in note.response_body + note.message_text for note in notes)
        assert internal.connections == 0


async def test_an_invite_to_a_clients_login_never_runs_a_number_spelled_like_it(server, application, workdir):
    """Data from before the one-namespace rule: a number and another tenant's client named alike. The client's
    application answers; the number's never runs."""
    from models import Client, IncomingPhoneNumber, clock, sids
    from tests.conftest import make_account

    victim = await make_account("victim@company.com")
    now = clock.now()
    client = Client(sid=sids.new_sid(sids.CLIENT), account_sid=victim.sid, date_created=now, date_updated=now,
                    login="bob", friendly_name="bob",
                    voice_url=application.on("/victim", "<Response><Hangup/></Response>"))
    client.set_password("1234")
    await client.save(force_create=True)
    await IncomingPhoneNumber.create(sid=sids.new_sid(sids.PHONE_NUMBER), account_sid=ADMIN_SID, phone_number="bob",
                                     friendly_name="bob", date_created=now, date_updated=now,
                                     voice_url=application.on("/attacker", "<Response><Hangup/></Response>"))
    async with Sipp("uac_answered.xml", workdir, target=server.sip, args=["-s", "bob"]) as caller:
        await caller.wait(15)
    await server.idle()
    assert application.requests_to("/attacker") == []
    [call] = await Call.all()
    assert call.account_sid == victim.sid and len(application.requests_to("/victim")) == 1


async def test_credentials_in_a_tenants_urls_never_reach_a_notification(server, application, workdir):
    application.on("/broken", ("no", 500))
    secret_url = application.url("/broken").replace("http://", "http://deploy:hunter2-secret@")
    async with Sipp("uas_answer.xml", workdir) as phone:
        call = await server.place(f"sip:alice@{phone.uri_host}", secret_url, StatusCallback=secret_url)
        await server.wait_status(call["sid"], "completed", "failed")
    await server.idle()
    notes = await Notification.filter(account_sid=ADMIN_SID)
    assert notes
    for note in notes:
        stored = " ".join((note.request_url, note.message_text, note.request_variables, note.response_body))
        assert "hunter2-secret" not in stored, stored
    assert any("deploy:[redacted]@" in note.request_url for note in notes)
    listed = (await server.get(f"/Accounts/{ADMIN_SID}/Notifications.json")).text
    assert "hunter2-secret" not in listed


async def test_suspending_an_account_refuses_and_ends_the_calls_of_the_accounts_below_it(server, application,
                                                                                         workdir):
    from tests.conftest import make_account

    parent = await make_account("parent@company.com")
    child = await make_account("child@company.com", parent=parent)
    voice = application.on("/voice", '<Response><Pause length="20"/></Response>')
    response = await server.post(f"/Accounts/{child.sid}/IncomingPhoneNumbers.json",
                                 {"PhoneNumber": "+15551230000", "VoiceUrl": voice})
    assert response.status_code == 201, response.text
    async with Sipp("uac_answered.xml", workdir, target=server.sip, args=["-s", "+15551230000"],
                    lifetime_s=30) as live_caller:
        live = await server.wait_status((await _first_call()).sid, "in-progress")
        suspended = await server.post(f"/Accounts/{parent.sid}.json", {"Status": "suspended"})
        assert suspended.status_code == 200, suspended.text
        ended = await server.wait_status(live.sid, "completed", within=5)  # not after its 20 s Pause
        await live_caller.wait(10)
    assert ended.duration < 10
    async with Sipp("uac_rejected.xml", workdir, target=server.sip, args=["-s", "+15551230000"],
                    fill={"code": "403"}) as refused:
        assert await refused.wait(15) == 0, refused.explain()
    assert await Call.filter(account_sid=child.sid).count() == 1


async def _first_call() -> Call:
    async with asyncio.timeout(10):
        while True:
            call = await Call.first()
            if call is not None:
                return call
            await asyncio.sleep(0.05)


async def test_a_document_of_unknown_elements_makes_one_notification_with_a_count(server, application, workdir):
    document = "<Response>" + "<Bogus/>" * 2000 + '<Pause length="x"/>' * 3 + "<Hangup/></Response>"
    async with Sipp("uas_answer.xml", workdir) as phone:
        call = await server.place(f"sip:alice@{phone.uri_host}", application.on("/rcml", document))
        await server.wait_status(call["sid"], "completed", within=30)
    notes = await Notification.filter(call_sid=call["sid"])
    print(f"{len(notes)} notifications for 2,000 unknown elements")
    unknown = [note for note in notes if note.error_code == 12200]
    assert len(unknown) == 1 and "2000 times" in unknown[0].message_text, [n.message_text for n in unknown[:3]]
    [bad_length] = [note for note in notes if note.error_code != 12200]  # one for the three bad attributes
    assert "3 times" in bad_length.message_text

"""<Dial> with real peers (issue 5): the two parties hear each other, the dialled leg is a call of its own,
and a leg that is busy or does not answer gives its DialCallStatus to the action."""

from __future__ import annotations

from calls.types import OutboundProxy
from models import Call, Recording
from sip.media.decoder import read_audio
from tests.calls.test_inbound import NUMBER, add_number
from tests.calls.test_media import play_media
from tests.conftest import ADMIN_SID
from tests.media.tones import level_dbfs
from tests.sip.test_outbound import CHALLENGE_401, CHALLENGE_407, digest_is_valid
from tests.support.baresip import Baresip
from tests.support.sipp import Sipp

HEARD_DBFS = -35.0  # a tone in a peer's audio for a good part of the call reads well above this
ABSENT_DBFS = -55.0  # what a tone nobody sent reads (noise, the other tone's leakage)


async def add_client(server, login: str, password: str = "1234", **extra: str) -> dict:
    response = await server.post(f"/Accounts/{ADMIN_SID}/Clients.json",
                                 {"Login": login, "Password": password, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def tone_levels(phone: Baresip, *frequencies: float) -> dict[float, float]:
    heard = read_audio(phone.heard())
    return {hz: level_dbfs(heard, hz) for hz in frequencies}


async def test_a_caller_dialled_to_a_client_hears_it_and_is_heard(server, application, workdir):
    await add_client(server, "bob")
    await add_client(server, "alice")
    await add_number(server, application.on("/voice", "<Response><Dial><Client>bob</Client></Dial></Response>"))
    host, port = server.sip
    async with Baresip(workdir, registrar=server.sip, user="bob", password="1234", tone_s=4, tone_hz=600) as bob:
        await bob.wait_for(r"200 OK .*\[1 binding\]")
        async with Baresip(workdir, registrar=server.sip, user="alice", password="1234", tone_s=8, tone_hz=1000,
                           dial=f"sip:{NUMBER}@{host}:{port}") as alice:
            await bob.wait_for("terminated", timeout_s=20)
            await alice.wait_for("terminated", timeout_s=10)
    await server.idle()
    [parent] = await Call.filter(direction="inbound")
    [child] = await Call.filter(direction="outbound-dial")
    assert child.parent_call_sid == parent.sid
    assert (parent.status, child.status) == ("completed", "completed")
    assert child.to_address == "bob" and child.from_address == parent.from_address
    assert 3 <= child.duration <= 5  # bob's four-second tone, then bob hung up
    response = await server.get(f"/Accounts/{ADMIN_SID}/Calls.json?ParentCallSid={parent.sid}")
    assert response.status_code == 200, response.text
    assert [call["sid"] for call in response.json()["calls"]] == [child.sid]
    bob_heard = tone_levels(bob, 1000, 600)
    alice_heard = tone_levels(alice, 600, 1000)
    assert bob_heard[1000] > HEARD_DBFS and bob_heard[600] < ABSENT_DBFS, bob_heard
    assert alice_heard[600] > HEARD_DBFS and alice_heard[1000] < ABSENT_DBFS, alice_heard


async def test_busy_and_unanswered_legs_give_their_dial_call_status(server, application, workdir):
    after = application.on("/after", "<Response><Hangup/></Response>")
    for scenario, timeout, expected in (("uas_busy.xml", 10, "busy"), ("uas_ring_cancel.xml", 1, "no-answer")):
        async with Sipp(scenario, workdir) as callee, Sipp("uas_answer.xml", workdir) as caller:
            document = (f'<Response><Dial timeout="{timeout}" action="{after}">'
                        f"<Sip>sip:bob@{callee.uri_host}</Sip></Dial></Response>")
            call = await server.place(f"sip:alice@{caller.uri_host}", application.on("/dial", document))
            await server.wait_status(call["sid"], "completed")
            assert await callee.wait() == 0, callee.explain()
        [action] = application.requests_to("/after")[-1:]
        [leg] = await Call.filter(parent_call_sid=call["sid"])
        assert action.params["DialCallStatus"] == expected
        assert action.params["DialCallSid"] == leg.sid and action.params["DialCallDuration"] == "0"
        assert leg.status == expected and leg.direction == "outbound-dial"


async def test_the_first_leg_to_answer_wins_and_the_others_are_cancelled(server, application, workdir):
    after = application.on("/after", "<Response><Hangup/></Response>")
    async with (Sipp("uas_ring_cancel.xml", workdir) as ringing, Sipp("uas_answer.xml", workdir) as answering,
                Sipp("uas_answer.xml", workdir) as caller):
        document = (f'<Response><Dial timeLimit="1" action="{after}"><Sip>sip:one@{ringing.uri_host}</Sip>'
                    f"<Sip>sip:two@{answering.uri_host}</Sip></Dial></Response>")
        call = await server.place(f"sip:alice@{caller.uri_host}", application.on("/dial", document))
        await server.wait_status(call["sid"], "completed")
        assert await ringing.wait() == 0, ringing.explain()  # it got its CANCEL
        assert await answering.wait() == 0, answering.explain()  # and this one its BYE, at the time limit
    [action] = await application.wait_for("/after")
    legs = {leg.to_address: leg for leg in await Call.filter(parent_call_sid=call["sid"])}
    assert legs["two"].status == "completed"
    assert legs["one"].status == "canceled"
    assert action.params["DialCallStatus"] == "completed"
    assert action.params["DialCallSid"] == legs["two"].sid
    assert action.params["DialCallDuration"] == "1"


async def test_a_recorded_dial_is_a_recording_of_the_calling_call(server, application, workdir):
    await add_client(server, "bob")
    after = application.on("/after", "<Response><Hangup/></Response>")
    document = f'<Response><Dial record="true" action="{after}"><Client>bob</Client></Dial></Response>'
    async with Baresip(workdir, registrar=server.sip, user="bob", password="1234", tone_s=3, tone_hz=600) as bob:
        await bob.wait_for(r"200 OK .*\[1 binding\]")
        async with Sipp("uas_answer.xml", workdir, args=["-rtp_echo"]) as caller:
            call = await server.place(f"sip:alice@{caller.uri_host}", application.on("/dial", document))
            await server.wait_status(call["sid"], "completed", within=20)
    [action] = await application.wait_for("/after")
    [recording] = await Recording.filter(call_sid=call["sid"])
    assert action.params["RecordingUrl"].endswith(f"/Recordings/{recording.sid}.wav")
    assert 2 <= recording.duration <= 4
    response = await server.get(f"/Accounts/{ADMIN_SID}/Recordings/{recording.sid}.wav")
    assert response.status_code == 200
    from tests.calls.test_media import pcm_of

    assert level_dbfs(pcm_of(response.content), 600) > HEARD_DBFS  # bob's tone is in it


async def test_without_action_the_document_goes_on_after_the_dial(server, application, workdir):
    document = ('<Response><Dial timeout="1"><Sip>sip:nobody@127.0.0.1:9</Sip></Dial>'
                f'<Redirect>{application.url("/next")}</Redirect></Response>')
    application.on("/next", "<Response><Hangup/></Response>")
    async with Sipp("uas_answer.xml", workdir) as caller:
        call = await server.place(f"sip:alice@{caller.uri_host}", application.on("/dial", document))
        await server.wait_status(call["sid"], "completed", within=20)
    await application.wait_for("/next")
    [leg] = await Call.filter(parent_call_sid=call["sid"])
    assert leg.status in ("no-answer", "failed")


async def test_a_number_noun_goes_through_the_proxy_with_caller_id_and_its_own_callbacks(
        server, application, workdir):
    leg_status = application.on("/leg-status", "")
    document = ('<Response><Dial timeLimit="1" callerId="+15550001111">'
                f'<Number statusCallback="{leg_status}" statusCallbackEvent="initiated answered completed">'
                "+1 555 123 4567?X-Ticket=42</Number></Dial></Response>")  # the proxy's scenario checks X-Ticket
    async with (Sipp("uas_challenge.xml", workdir, fill=CHALLENGE_407) as proxy,
                Sipp("uas_answer.xml", workdir) as caller):
        with server.outbound_proxy(OutboundProxy("127.0.0.1", proxy.port, "alice", "s3cret")):
            call = await server.place(f"sip:alice@{caller.uri_host}", application.on("/dial", document))
            await server.wait_status(call["sid"], "completed", within=20)
            assert await proxy.wait() == 0, proxy.explain()
    first, _, second, *_ = proxy.received()
    assert first.startswith(f"INVITE sip:+15551234567@127.0.0.1:{proxy.port} SIP/2.0")
    assert "From: <sip:+15550001111@" in first or "From: sip:+15550001111@" in first, first
    [line] = [line for line in second.splitlines() if line.startswith("Proxy-Authorization: ")]
    assert digest_is_valid(line, "s3cret")
    [leg] = await Call.filter(parent_call_sid=call["sid"])
    assert (leg.to_address, leg.from_address, leg.status) == ("+15551234567", "+15550001111", "completed")
    await server.idle()
    reports = application.requests_to("/leg-status")
    assert [r.params["CallStatus"] for r in reports] == ["queued", "in-progress", "completed"]
    assert {(r.params["CallSid"], r.params["ParentCallSid"]) for r in reports} == {(leg.sid, call["sid"])}


async def test_a_sip_noun_answers_the_callees_challenge_with_its_credentials(server, application, workdir):
    after = application.on("/after", "<Response><Hangup/></Response>")
    async with (Sipp("uas_challenge.xml", workdir, fill=CHALLENGE_401) as callee,
                Sipp("uas_answer.xml", workdir) as caller):
        document = (f'<Response><Dial timeLimit="1" action="{after}"><Sip username="alice" password="s3cret">'
                    f"sip:alice@{callee.uri_host}?X-Ticket=42</Sip></Dial></Response>")
        call = await server.place(f"sip:bob@{caller.uri_host}", application.on("/dial", document))
        await server.wait_status(call["sid"], "completed", within=20)
        assert await callee.wait() == 0, callee.explain()
    [action] = await application.wait_for("/after")
    assert action.params["DialCallStatus"] == "completed"


async def test_star_hangs_up_the_dialled_leg_with_hangup_on_star(server, application, workdir):
    after = application.on("/after", "<Response><Hangup/></Response>")
    async with (Sipp("uas_answer.xml", workdir) as callee,
                Sipp("uas_answer_media.xml", workdir, fill=play_media("g711a.pcap", "dtmf_2833_star.pcap"))
                as caller):
        document = (f'<Response><Dial hangupOnStar="true" action="{after}"><Sip>sip:bob@{callee.uri_host}</Sip>'
                    "</Dial></Response>")
        call = await server.place(f"sip:alice@{caller.uri_host}", application.on("/dial", document))
        assert await callee.wait() == 0, callee.explain()  # its BYE, sent when the caller pressed *
        [action] = await application.wait_for("/after", seconds=20)
        await server.wait_status(call["sid"], "completed")
    assert action.params["DialCallStatus"] == "completed"
    [leg] = await Call.filter(parent_call_sid=call["sid"])
    assert leg.status == "completed" and leg.end_time is not None

"""A hostile tenant's documents against the server (issue 12): what one document may make the server do."""

from __future__ import annotations

from models import Call, Notification
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

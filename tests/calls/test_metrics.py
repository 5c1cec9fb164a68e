"""A real call through the API moves the metrics an operator watches, each by exactly what happened."""

from __future__ import annotations

from testkit.metrics import samples, value
from tests.support.sipp import Sipp


async def scrape(server) -> dict:
    response = await server.http.get(server.base_url + "/metrics")
    assert response.status_code == 200
    return samples(response.text)


async def test_one_call_moves_its_counters_by_one(server, application, workdir):
    url = application.on("/rcml", '<Response><Pause length="1"/></Response>')
    status = application.on("/status", "")
    before = await scrape(server)
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url, StatusCallback=status)
        await server.wait_status(call["sid"], "in-progress")
        live = await scrape(server)
        await server.wait_status(call["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    await server.idle()
    after = await scrape(server)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(live, "restcomm_live_calls", status="in-progress", direction="outbound-api") == 1
    assert value(after, "restcomm_live_calls", status="in-progress", direction="outbound-api") == 0
    assert moved("restcomm_calls_started_total", direction="outbound-api") == 1
    assert moved("restcomm_calls_ended_total", direction="outbound-api", status="completed") == 1
    assert moved("restcomm_call_setup_seconds_count", direction="outbound-api") == 1
    assert moved("restcomm_rcml_fetch_seconds_count") == 1
    assert moved("restcomm_status_callbacks_total", outcome="delivered") == 1
    assert moved("restcomm_sip_requests_total", direction="out", method="INVITE") == 1
    assert moved("restcomm_sip_requests_total", direction="out", method="ACK") == 1
    assert moved("restcomm_sip_responses_total", direction="in", **{"class": "2xx"}) >= 1
    assert moved("restcomm_rtp_streams_opened_total") == 1
    assert value(after, "restcomm_rtp_streams") == value(before, "restcomm_rtp_streams")
    assert moved("restcomm_http_requests_total", operation="handlers.calls.create_json", status="200") == 1


async def test_a_failing_application_counts_its_fetch_failure_and_the_given_up_callback(server, application,
                                                                                       workdir):
    url = application.on("/rcml", lambda _request: ("boom", 500))
    status = application.on("/status", lambda _request: ("", 500))
    before = await scrape(server)
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url, StatusCallback=status)
        await server.wait_status(call["sid"], "completed", "failed")
        await peer.wait()
    await server.idle()
    after = await scrape(server)
    assert value(after, "restcomm_rcml_fetch_failures_total", cause="http_status") - value(
        before, "restcomm_rcml_fetch_failures_total", cause="http_status") == 1
    assert value(after, "restcomm_status_callbacks_total", outcome="given_up") - value(
        before, "restcomm_status_callbacks_total", outcome="given_up") == 1
    # RETRY_DELAYS of the test server: three retries after the first attempt.
    assert value(after, "restcomm_status_callback_retries_total") - value(
        before, "restcomm_status_callback_retries_total") == 3


async def test_a_call_closed_after_its_node_stopped_counts_as_ended_failed(server):
    from models import Call, CallStatus, clock, sids
    from tests.conftest import ADMIN_SID

    now = clock.now()
    await Call.create(sid=sids.new_sid(sids.CALL), account_sid=ADMIN_SID, date_created=now, date_updated=now,
                      to_address="bob", from_address="alice", status=CallStatus.IN_PROGRESS.value, start_time=now,
                      direction="inbound", owner_node=server.engine.node)
    before = await scrape(server)
    assert await server.engine.recover() == 1
    after = await scrape(server)
    labels = {"direction": "inbound", "status": "failed"}
    assert value(after, "restcomm_calls_ended_total", **labels) - value(before, "restcomm_calls_ended_total",
                                                                        **labels) == 1


async def test_a_digest_registration_is_counted_and_its_authorization_never_logged(server, workdir):
    import re

    from tests.calls.test_call_log import json_log
    from tests.calls.test_clients_calls import make_client, registering

    await make_client(server, "alice", "s3cret-pass")
    before = await scrape(server)
    with json_log() as stream:
        async with registering(server, "register_digest.xml", workdir, "alice", "s3cret-pass") as peer:
            assert await peer.wait() == 0, peer.explain()
    after = await scrape(server)
    assert value(after, "restcomm_registrations") == 1
    assert value(after, "restcomm_sip_requests_total", direction="in", method="REGISTER") - value(
        before, "restcomm_sip_requests_total", direction="in", method="REGISTER") == 2  # challenged, then with it
    for kind in ("4xx", "2xx"):
        assert value(after, "restcomm_sip_responses_total", direction="out", **{"class": kind}) - value(
            before, "restcomm_sip_responses_total", direction="out", **{"class": kind}) == 1
    text = stream.getvalue()
    # The digest response sipp sent is on the wire (sipp's own trace) but in no line of ours.
    sent = re.search(r'response="([0-9a-f]{32})"', peer.messages)
    assert sent is not None and "REGISTER sip:" in text
    assert sent.group(1) not in text and "s3cret-pass" not in text
    assert "Authorization: [redacted]" in text
